"""Erasure of persons ("droit à l'effacement"): signed orders, applied on every device, then
purged from the relay (docs/security.md, "Erasure")."""

from mano_core.erasure.closure import ErasurePlan, plan_erasure
from mano_core.erasure.service import Confirmation, Erasures, ErasureStatus

__all__ = ["Confirmation", "ErasurePlan", "ErasureStatus", "Erasures", "plan_erasure"]
