"""The client's structure holds: screens move on with messages the app handles, widgets never
reach a screen, and the engine never reaches the client (harlequin's import hygiene)."""

from __future__ import annotations

import ast
from pathlib import Path

import tui

TUI = Path(tui.__file__).parent
SCREENS = TUI / "screens"
# Screen modules other screens may import: shared bases and helpers, not destinations.
SHARED_SCREEN_MODULES = {"base", "actions_common"}


def parsed(path: Path) -> ast.Module:
    """``path``'s syntax tree. CPython 3.11 keeps ast.parse's recursion count in state that
    every thread shares (python/cpython#106905): another thread parsing at the same time (3.11's
    traceback formatting parses, to place its carets) can make it raise ``SystemError: AST
    constructor recursion depth mismatch``. Seen once in CI, which thread was not traced.
    Parsed again then: the count is taken afresh at each call."""
    for _ in range(3):
        try:
            return ast.parse(path.read_text(), str(path))
        except SystemError:
            continue
    return ast.parse(path.read_text(), str(path))


def imported_modules(path: Path) -> set[str]:
    """Every module ``path`` imports, as a dotted name (relative imports resolved)."""
    package = ".".join(path.relative_to(TUI.parent).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(parsed(path)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base]) if base else ".".join(parts)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def test_widgets_never_import_screens_or_the_app():
    for path in sorted((TUI / "widgets").glob("*.py")):
        bad = {m for m in imported_modules(path)
               if m.startswith(("tui.screens", "tui.app"))}
        assert not bad, f"{path.name} imports {sorted(bad)}"


def test_screens_do_not_import_each_other():
    # a screen is a module of tui/screens or a package there (the person file, one module
    # per tab): the modules of one package may import each other
    names = ({p.stem for p in SCREENS.glob("*.py")} - {"__init__"}) | {
        p.name for p in SCREENS.iterdir() if (p / "__init__.py").exists()}
    for path in sorted(SCREENS.rglob("*.py")):
        if path == SCREENS / "__init__.py":
            continue
        own = path.relative_to(SCREENS).parts[0].removesuffix(".py")
        reached = {m.split(".")[2] for m in imported_modules(path)
                   if m.startswith("tui.screens.") and m.split(".")[2] in names}
        bad = reached - SHARED_SCREEN_MODULES - {own}
        assert not bad, f"{path.name} imports the screens {sorted(bad)}: post a message " \
                        "from tui.navigation instead"


# The one exception, pinned by pyproject (textual < 9): the project Select draws its shown value
# with a SelectCurrent of its own, so that quitting while it is drawn is not a crash.
PRIVATE_ALLOWED = {"select.py": {"textual.widgets._select",
                                 "textual.widgets._select.SelectCurrent"}}


def test_screens_and_widgets_do_not_import_textual_private_modules():
    for path in sorted([*SCREENS.rglob("*.py"), *(TUI / "widgets").glob("*.py")]):
        allowed = PRIVATE_ALLOWED.get(path.name, set()) if path.parent.name == "widgets" else set()
        bad = {m for m in imported_modules(path) - allowed
               if m.startswith("textual.") and any(p.startswith("_") for p in m.split(".")[1:])}
        assert not bad, f"{path.name} imports Textual's private {sorted(bad)}"


def test_the_client_uses_its_own_select():
    # tui.widgets.select.Select does not report its own mount as a change of value: a screen
    # composed with Textual's would read its data a second time at its first show (issue 24)
    for path in sorted(TUI.rglob("*.py")):
        if path == TUI / "widgets" / "select.py":
            continue
        assert "textual.widgets.Select" not in imported_modules(path), \
            f"{path.relative_to(TUI)} imports textual.widgets.Select: use tui.widgets.select"


def test_no_method_of_the_client_is_a_runtime_stub():
    """What a base class needs from the app or a subclass is typed (an attribute declared, a
    Protocol, a method passed in), never a body that raises NotImplementedError: mypy then
    finds what is missing, a run never does."""
    for path in sorted(TUI.rglob("*.py")):
        for node in ast.walk(parsed(path)):
            if isinstance(node, ast.Raise) and node.exc is not None:
                raised = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
                assert not (isinstance(raised, ast.Name) and raised.id == "NotImplementedError"), \
                    f"{path.relative_to(TUI.parent)}:{node.lineno} raises NotImplementedError"


def test_event_handlers_never_call_their_base_classes_handler():
    """Textual calls an event's handler in every class of a widget itself (its MRO): a
    handler calling ``super().on_mount()`` runs the base's twice (SectionScreen's reload and
    its watch of the team's changes: every change reloaded the agenda twice)."""
    for path in sorted(TUI.rglob("*.py")):
        for node in ast.walk(parsed(path)):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and isinstance(node.func.value, ast.Call)
                    and isinstance(node.func.value.func, ast.Name)
                    and node.func.value.func.id == "super"
                    and node.func.attr.lstrip("_").startswith("on_")
                    and node.func.attr != "on_event"):
                raise AssertionError(f"{path.relative_to(TUI.parent)}:{node.lineno} calls "
                                     f"super().{node.func.attr}(): Textual calls it already")
