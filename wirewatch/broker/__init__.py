"""The project's own local Apache Kafka: a single-node KRaft broker+controller.

Kafka's jars are resolved from Maven Central by Maven using the small pom
beside this file, and cached outside git (``~/.cache/wirewatch``). Storage is
formatted once; the broker binds to 127.0.0.1 only and keeps a data dir,
pidfile and log file under ``BrokerSettings.data_dir``.
"""

from __future__ import annotations

import asyncio
import base64
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Mapping
from pathlib import Path

from pydantic import SecretStr

from wirewatch.broker import security
from wirewatch.broker.security import ServerTls
from wirewatch.kafka import wait_for_kafka
from wirewatch.settings import BrokerSettings, KafkaSettings

POM = Path(__file__).with_name("pom.xml")
LOG4J = Path(__file__).with_name("log4j2.properties")


class BrokerError(RuntimeError):
    """The local broker could not be prepared, started or stopped."""


def find_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BrokerError(
            f"'{name}' was not found on PATH. The local Kafka broker needs Java 17+ and Maven "
            f"(apt-get install openjdk-17-jre-headless maven). Without them, run the stack with "
            f"`docker compose up` (see README), or point wirewatch at an existing broker with "
            f"KAFKA_BOOTSTRAP=host:port."
        )
    return path


def _is_zombie(pid: int) -> bool:
    # A killed child of this process lingers as a zombie until reaped; it is not running.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z")
    except (OSError, IndexError):
        return False


class LocalBroker:
    """One broker+controller process, plaintext unless secured (wirewatch.broker.security):
    ``sasl_users`` makes clients log in (PLAIN or SCRAM), ``tls`` puts TLS under it."""

    def __init__(
        self,
        settings: BrokerSettings,
        *,
        sasl_users: Mapping[str, str] | None = None,
        tls: ServerTls | None = None,
    ) -> None:
        self.settings = settings
        self.sasl_users = dict(sasl_users or {})
        self.tls = tls
        security.check_users(self.sasl_users)
        self.data_dir = settings.data_dir.resolve()
        self.libs_dir = settings.jar_cache.expanduser() / f"kafka-{settings.kafka_version}" / "libs"
        self.pidfile = self.data_dir / "broker.pid"
        self.logfile = self.data_dir / "broker.log"
        self.log_dir = self.data_dir / "log"
        self.properties = self.data_dir / "server.properties"
        # Kept so that a broker started by this object is reaped when stopped.
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.settings.host}:{self.settings.port}"

    def client_settings(self, user: str | None = None, mechanism: str = "PLAIN") -> KafkaSettings:
        """Kafka settings that reach this broker (as ``user``, when it takes SASL)."""
        options: dict[str, object] = {
            "bootstrap": self.bootstrap,
            "security_protocol": security.protocol(self.sasl_users, self.tls),
        }
        if self.tls:
            options["ssl_cafile"] = self.tls.ca
        if self.sasl_users:
            name = user or next(iter(self.sasl_users))
            options["sasl_mechanism"] = mechanism
            options["sasl_username"] = name
            options["sasl_password"] = SecretStr(self.sasl_users[name])
        return KafkaSettings.model_validate(options)

    # -- jars ---------------------------------------------------------------
    def ensure_jars(self) -> Path:
        """Resolve Kafka's jars with Maven once; later calls reuse the cache."""
        marker = self.libs_dir / ".complete"
        if marker.exists():
            return self.libs_dir
        mvn = find_tool("mvn")
        self.libs_dir.mkdir(parents=True, exist_ok=True)
        cmd = [
            mvn, "-q", "-B", "-f", str(POM), "dependency:copy-dependencies",
            f"-DoutputDirectory={self.libs_dir}", "-DincludeScope=runtime",
            f"-Dkafka.version={self.settings.kafka_version}",
        ]  # fmt: skip
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
        if result.returncode != 0:
            raise BrokerError(
                "Maven could not resolve Kafka's jars:\n" + (result.stdout + result.stderr)[-2000:]
            )
        marker.touch()
        return self.libs_dir

    # -- storage ------------------------------------------------------------
    def write_config(self) -> None:
        s = self.settings
        self.data_dir.mkdir(parents=True, exist_ok=True)
        lines = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@{s.host}:{s.controller_port}",
            "listeners": f"PLAINTEXT://{s.host}:{s.port},CONTROLLER://{s.host}:{s.controller_port}",
            "advertised.listeners": f"PLAINTEXT://{s.host}:{s.port}",
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.log_dir),
            # A single node: every internal topic has one replica.
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "10",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "share.coordinator.state.topic.replication.factor": "1",
            "share.coordinator.state.topic.min.isr": "1",
            # Consumers (Faust, pollers) start at once instead of waiting 3 s for peers.
            "group.initial.rebalance.delay.ms": "0",
            "num.partitions": "1",
            "auto.create.topics.enable": "true",
        }
        if self.sasl_users or self.tls:
            lines.update(
                security.listener_properties(
                    self.sasl_users, self.tls, s.host, s.port, s.controller_port
                )
            )
        self.properties.write_text("".join(f"{k}={v}\n" for k, v in lines.items()))
        # It holds the SASL passwords when there are any.
        self.properties.chmod(0o600)

    def format_storage(self, java: str, classpath: str) -> None:
        if (self.log_dir / "meta.properties").exists():
            return
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        # "--cluster-id=ID" in one word: a URL-safe id may start with "-", which
        # the tool's argument parser would otherwise take for an option.
        cmd = [java, "-cp", classpath, "kafka.tools.StorageTool", "format",
               f"--cluster-id={cluster_id}", "-c", str(self.properties),
               *security.scram_format_args(self.sasl_users)]  # fmt: skip
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)  # noqa: S603
        if result.returncode != 0:
            raise BrokerError(
                "Formatting KRaft storage failed:\n" + self._redact(result.stderr)[-2000:]
            )

    # -- lifecycle ----------------------------------------------------------
    def pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
        except (OSError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        return None if _is_zombie(pid) else pid

    def port_open(self) -> bool:
        with socket.socket() as sock:
            sock.settimeout(0.5)
            return sock.connect_ex((self.settings.host, self.settings.port)) == 0

    def start(self) -> str:
        """Start the broker if it is not running and wait until it answers. Idempotent."""
        if self.pid() is not None and self.port_open():
            self._wait_ready(time.monotonic() + self.settings.start_timeout_s)
            return self.bootstrap
        java = find_tool("java")
        libs = self.ensure_jars()
        classpath = f"{libs}/*"
        self.write_config()
        self.format_storage(java, classpath)
        cmd = [
            java, f"-Xmx{self.settings.heap}", f"-Xms{self.settings.heap}", "-XX:+UseG1GC",
            "-Djava.awt.headless=true", f"-Dlog4j2.configurationFile={LOG4J}",
            f"-Dkafka.logs.dir={self.data_dir}", "-cp", classpath,
            "kafka.Kafka", str(self.properties),
        ]  # fmt: skip
        with self.logfile.open("ab") as log:
            # A session of its own: Ctrl-C in the terminal is handled by `stop`, not by Java.
            proc = subprocess.Popen(  # noqa: S603
                cmd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self._proc = proc
        self.pidfile.write_text(str(proc.pid))
        deadline = time.monotonic() + self.settings.start_timeout_s
        while not self.port_open():
            if proc.poll() is not None:
                raise BrokerError(
                    f"Kafka exited with code {proc.returncode}; last log lines:\n{self._tail()}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise BrokerError(f"Kafka did not open {self.bootstrap} in time:\n{self._tail()}")
            time.sleep(0.2)
        self._wait_ready(deadline)
        return self.bootstrap

    def _wait_ready(self, deadline: float) -> None:
        timeout_s = max(deadline - time.monotonic(), 5.0)
        asyncio.run(wait_for_kafka(self.client_settings(), timeout_s))

    def stop(self, timeout_s: float = 30.0) -> bool:
        """Stop the broker gracefully (SIGTERM, then SIGKILL). Returns False if none ran."""
        pid = self.pid()
        if pid is None:
            self.pidfile.unlink(missing_ok=True)
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and self.pid() is not None:
            time.sleep(0.2)
        if self.pid() is not None:
            os.kill(pid, signal.SIGKILL)
        if self._proc is not None:
            self._proc.wait()
            self._proc = None
        self.pidfile.unlink(missing_ok=True)
        return True

    def kill(self) -> None:
        """Hard-kill the broker (chaos tests)."""
        pid = self.pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)

    def status(self) -> str:
        pid = self.pid()
        if pid is None:
            return "stopped"
        state = "running" if self.port_open() else "starting"
        return f"{state} (pid {pid}) on {self.bootstrap}, data in {self.data_dir}"

    def _redact(self, text: str) -> str:
        for password in self.sasl_users.values():
            text = text.replace(password, "***")
        return text

    def _tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
