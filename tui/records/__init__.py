"""Record types as the interface handles them: each type's fields declared once (``spec``),
values read and typed by kind (``values``), forms, detail views and history made from the
specs (``build``), and the engine's errors in the interface's language (``errors``)."""
