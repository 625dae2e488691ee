"""Initial schema: the seed's users and requests (extended), tenants, API keys, signing keys, model prices.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql as pg

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

NOW = sa.text("CURRENT_TIMESTAMP")


def _uuid_pk() -> sa.Column[object]:
    return sa.Column("id", pg.UUID(as_uuid=True), primary_key=True, server_default=sa.text("gen_random_uuid()"))


def upgrade() -> None:
    op.create_table(
        "tenants",
        _uuid_pk(),
        sa.Column("name", sa.String(255), nullable=False, unique=True),
        sa.Column("requests_per_minute", sa.Integer, nullable=True),
        sa.Column("tokens_per_minute", sa.Integer, nullable=True),
        sa.Column("monthly_token_budget", sa.BigInteger, nullable=True),
        sa.Column("store_content", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("is_active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.TIMESTAMP, server_default=NOW),
        sa.Column("updated_at", sa.TIMESTAMP, server_default=NOW),
        sa.Column("metadata", pg.JSONB, server_default=sa.text("'{}'::jsonb")),
    )
    op.create_table(
        "users",
        _uuid_pk(),
        sa.Column("username", sa.String(255), nullable=False, unique=True),
        sa.Column("email", sa.String(255), nullable=False, unique=True),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("role", sa.String(50), server_default="user"),
        sa.Column("created_at", sa.TIMESTAMP, server_default=NOW),
        sa.Column("updated_at", sa.TIMESTAMP, server_default=NOW),
        sa.Column("last_login", sa.TIMESTAMP),
        sa.Column("is_active", sa.Boolean, server_default=sa.true()),
        sa.Column("metadata", pg.JSONB, server_default=sa.text("'{}'::jsonb")),
        sa.Column("tenant_id", pg.UUID(as_uuid=True), sa.ForeignKey("tenants.id"), nullable=False),
        sa.CheckConstraint("role IN ('admin', 'operator', 'user', 'viewer')", name="users_role_valid"),
    )
    op.create_index("idx_users_username", "users", ["username"])
    op.create_index("idx_users_email", "users", ["email"])
    op.create_index("idx_users_created_at", "users", ["created_at"])
    op.create_index("idx_users_tenant_id", "users", ["tenant_id"])
    op.create_table(
        "api_keys",
        _uuid_pk(),
        sa.Column("tenant_id", pg.UUID(as_uuid=True), sa.ForeignKey("tenants.id"), nullable=False),
        sa.Column("user_id", pg.UUID(as_uuid=True), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("name", sa.String(255), nullable=False, server_default=""),
        sa.Column("prefix", sa.String(32), nullable=False, unique=True),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("role", sa.String(50), nullable=False),
        sa.Column("requests_per_minute", sa.Integer, nullable=True),
        sa.Column("tokens_per_minute", sa.Integer, nullable=True),
        sa.Column("created_at", sa.TIMESTAMP, server_default=NOW),
        sa.Column("expires_at", sa.TIMESTAMP, nullable=True),
        sa.Column("revoked_at", sa.TIMESTAMP, nullable=True),
        sa.CheckConstraint("role IN ('admin', 'operator', 'user', 'viewer')", name="api_keys_role_valid"),
    )
    op.create_index("idx_api_keys_tenant_id", "api_keys", ["tenant_id"])
    op.create_table(
        "signing_keys",
        sa.Column("kid", sa.String(64), primary_key=True),
        sa.Column("algorithm", sa.String(16), nullable=False),
        sa.Column("private_key_encrypted", sa.Text, nullable=False),
        sa.Column("public_jwk", pg.JSONB, nullable=False),
        sa.Column("created_at", sa.TIMESTAMP, server_default=NOW),
        sa.Column("retired_at", sa.TIMESTAMP, nullable=True),
    )
    op.create_table(
        "model_prices",
        sa.Column("model", sa.String(100), primary_key=True),
        sa.Column("prompt_per_million", sa.Numeric(12, 6), nullable=False, server_default="0"),
        sa.Column("completion_per_million", sa.Numeric(12, 6), nullable=False, server_default="0"),
        sa.Column("updated_at", sa.TIMESTAMP, server_default=NOW),
    )
    op.create_table(
        "requests",
        _uuid_pk(),
        sa.Column("user_id", pg.UUID(as_uuid=True), sa.ForeignKey("users.id")),
        sa.Column("model", sa.String(100), nullable=False),
        sa.Column("messages", pg.JSONB, nullable=False, server_default=sa.text("'[]'::jsonb")),
        sa.Column("parameters", pg.JSONB, server_default=sa.text("'{}'::jsonb")),
        sa.Column("response", pg.JSONB),
        sa.Column("status", sa.String(50), server_default="pending"),
        sa.Column("tokens_used", sa.Integer, server_default="0"),
        sa.Column("cost", sa.Numeric(10, 6), server_default="0"),
        sa.Column("created_at", sa.TIMESTAMP, server_default=NOW),
        sa.Column("completed_at", sa.TIMESTAMP),
        sa.Column("error_message", sa.Text),
        # HelixFlow's extension: who, through which key and route, how many tokens, how fast.
        sa.Column("tenant_id", pg.UUID(as_uuid=True), sa.ForeignKey("tenants.id")),
        sa.Column("api_key_id", pg.UUID(as_uuid=True), sa.ForeignKey("api_keys.id")),
        sa.Column("client_request_id", sa.String(128)),
        sa.Column("endpoint", sa.String(64), nullable=False, server_default=""),
        sa.Column("prompt_tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("completion_tokens", sa.Integer, nullable=False, server_default="0"),
        sa.Column("latency_ms", sa.Float, nullable=False, server_default="0"),
        sa.Column("status_code", sa.Integer, nullable=False, server_default="0"),
        sa.Column("cached", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("idx_requests_user_id", "requests", ["user_id"])
    op.create_index("idx_requests_created_at", "requests", ["created_at"])
    op.create_index("idx_requests_status", "requests", ["status"])
    op.create_index("idx_requests_tenant_created", "requests", ["tenant_id", "created_at"])


def downgrade() -> None:
    for table in ("requests", "model_prices", "signing_keys", "api_keys", "users", "tenants"):
        op.drop_table(table)
