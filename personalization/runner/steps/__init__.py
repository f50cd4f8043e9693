"""The personalization steps (being cut into one module per step: see the next commit)."""

from personalization.runner.steps.identify import QualityCheckFailed, Step, StepContext, plan

__all__ = ["QualityCheckFailed", "Step", "StepContext", "plan"]
