"""Throwaway PEM certificates for TLS tests, made with the openssl command line."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Pki:
    ca: Path  # the CA certificate clients trust
    server_keystore: Path  # the server's key then its certificate, for a PEM keystore
    other_ca: Path  # a CA that signed nothing here: trusting it alone must fail


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def make_ca(directory: Path, name: str) -> tuple[Path, Path]:
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
        "-subj", f"/CN={name}", "-keyout", str(key), "-out", str(cert),
    )  # fmt: skip
    return cert, key


def make_pki(directory: Path, host: str = "127.0.0.1") -> Pki:
    """A CA, a server certificate for ``host`` (an IP, in subjectAltName) signed by it, and a
    second unrelated CA."""
    ca, ca_key = make_ca(directory, "wirewatch-test-ca")
    other_ca, _ = make_ca(directory, "unrelated-ca")
    key, csr, cert = (directory / f"server.{ext}" for ext in ("key", "csr", "pem"))
    openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={host}",
        "-keyout", str(key), "-out", str(csr),
    )  # fmt: skip
    ext = directory / "san.ext"
    ext.write_text(f"subjectAltName=IP:{host}\n")
    openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(ca), "-CAkey", str(ca_key),
        "-CAcreateserial", "-days", "1", "-extfile", str(ext), "-out", str(cert),
    )  # fmt: skip
    keystore = directory / "server-keystore.pem"
    keystore.write_text(key.read_text() + cert.read_text())
    return Pki(ca=ca, server_keystore=keystore, other_ca=other_ca)
