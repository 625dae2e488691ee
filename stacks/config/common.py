"""What every stack has, whatever its target: the settings a platform team chooses once.

Each of them may ask a target for a feature it lacks (a public domain on a laptop, GPUs on
CPU processes); the target's table of unsupported features refuses those before anything runs.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from helixflow.stacks.policy.settings import PolicySettings

# Feature names, as the targets' unsupported tables spell them.
GPU = "gpu"
HIGH_AVAILABILITY = "high availability"
PUBLIC_DNS = "public DNS / ACME"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StackBase(Strict):
    """Settings shared by every target; each target's stack adds `target` and its own section."""

    domain: str | None = Field(
        None,
        min_length=3,
        pattern=r"^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$",
        description="public DNS name of the endpoint; its certificate comes from ACME (Let's Encrypt)",
    )
    acme_email: str | None = Field(None, min_length=3, description="the ACME account's email (with domain)")
    high_availability: bool = Field(False, description="replicated data stores and services across zones")
    gpu: bool = Field(False, description="SGLang workers on GPU nodes (otherwise whatever the target runs)")
    policy: PolicySettings = Field(PolicySettings(), description="which policy rules only warn or are off, and "
                                   "the limits they check (helixflow.stacks.policy)")  # fmt: skip

    @model_validator(mode="after")
    def _acme_needs_both(self) -> StackBase:
        if bool(self.domain) != bool(self.acme_email):
            missing = "acme_email" if self.domain else "domain"
            raise ValueError(f"domain and acme_email go together (Let's Encrypt registers the account with the "
                             f"email, for the domain): set {missing} too, or neither")  # fmt: skip
        return self

    def requested_features(self) -> set[str]:
        """The features this configuration asks its target for."""
        wanted = set()
        if self.gpu:
            wanted.add(GPU)
        if self.high_availability:
            wanted.add(HIGH_AVAILABILITY)
        if self.domain or self.acme_email:
            wanted.add(PUBLIC_DNS)
        return wanted
