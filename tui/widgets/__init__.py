"""Reusable widgets: the sync bar, the section bar, paged tables, forms, bar charts."""
