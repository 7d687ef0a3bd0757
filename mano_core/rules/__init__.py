"""Domain rules that hold on every device: the role table and the checks of remote writes."""

from mano_core.rules.table import LABELS_FR, RULES, Power, may, require

__all__ = ["LABELS_FR", "RULES", "Power", "may", "require"]
