"""Import apprise once with its own import-time DeprecationWarning silenced.

apprise 2.3 imports the stdlib ``imghdr`` module (deprecated in 3.11) from
apprise/utils/pgp.py; the suite runs with filterwarnings=error, and that warning is
apprise's, not ours.
"""

from __future__ import annotations

import warnings

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    import apprise
    import apprise.utils.pgp  # noqa: F401
