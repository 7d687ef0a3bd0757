"""The newcomer's demo: a relay on loopback, a demo team on this device, a simulated teammate.

``mano demo`` runs it (``tui.demo.runner.DemoRun``); the heavy steps run in subprocesses so
that the interface stays responsive while they work:

* ``python -m sync_server serve --port 0``: the relay;
* ``python -m tui.demo.build``: creates this device's store and the demo team, uploads it to
  the relay and prints an invitation code for the teammate;
* ``python -m tui.demo.peer``: the teammate's device, joined with that code, editing now and then.
"""
