"""Request bodies of the admin API (responses are plain JSON rows)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from helixflow.runtime.security.roles import Role

INT32 = 2_147_483_647
INT64 = 9_223_372_036_854_775_807
PRICE_MAX = 999_999.0  # numeric(12, 6)
Name = Field(min_length=1, max_length=255, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]*$")


class TenantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Name
    requests_per_minute: int | None = Field(default=None, ge=0, le=INT32)
    tokens_per_minute: int | None = Field(default=None, ge=0, le=INT32)
    monthly_token_budget: int | None = Field(default=None, ge=0, le=INT64)
    store_content: bool = False


class TenantUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    requests_per_minute: int | None = Field(default=None, ge=0, le=INT32)
    tokens_per_minute: int | None = Field(default=None, ge=0, le=INT32)
    monthly_token_budget: int | None = Field(default=None, ge=0, le=INT64)
    store_content: bool | None = None
    is_active: bool | None = None


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    tenant_id: str | None = None
    username: str = Name
    email: str = Field(max_length=255, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    password: str = Field(min_length=8, max_length=1024)
    role: Role = Role.user


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    is_active: bool | None = None


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(default="", max_length=255)
    user_id: str | None = None
    role: Role | None = None
    expires_in_days: int | None = Field(default=None, ge=1, le=3650)
    requests_per_minute: int | None = Field(default=None, ge=0, le=INT32)
    tokens_per_minute: int | None = Field(default=None, ge=0, le=INT32)


class PriceSet(BaseModel):
    model_config = ConfigDict(extra="forbid")
    prompt_per_million: float = Field(ge=0, le=PRICE_MAX)
    completion_per_million: float = Field(ge=0, le=PRICE_MAX)
