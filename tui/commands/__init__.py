"""The `mano` subcommands, one module each: ``register(sub)`` adds the command's parser and
sets its ``func`` (an ``async (args, t) -> int``). ``tui.cli`` builds the parser from them and
runs the chosen one."""
