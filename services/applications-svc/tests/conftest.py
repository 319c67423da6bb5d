"""applications-svc's tests import their builders as `applications_builders` (a name of their
own: every service's tests run in one session)."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
