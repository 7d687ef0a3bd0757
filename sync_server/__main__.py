"""``python -m sync_server serve …`` runs the relay (same as ``mano-relay``)."""

import sys

from sync_server.cli import main

sys.exit(main())
