"""Outreach (issue 19): consent per customer and channel, the message outbox with its unique send
keys, cursors over the append-only order events and stock ledger, back-in-stock subscriptions,
campaigns and their treated/holdout members.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 17:12:19
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "campaigns",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("target", sa.JSON(), nullable=False),
        sa.Column("offer", sa.JSON(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("scheduled_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("holdout_share", sa.Double(), nullable=False),
        sa.Column("max_per_week", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_by", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("channel IN ('web', 'wechat')", name="campaign_channel"),
        sa.CheckConstraint("status IN ('draft', 'scheduled', 'running', 'done')", name="campaign_status"),
        sa.CheckConstraint("holdout_share >= 0 AND holdout_share < 1", name="campaign_holdout"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "outreach_cursors",
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("last_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_table(
        "campaign_members",
        sa.Column("campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("arm", sa.String(length=8), nullable=False),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("arm IN ('treated', 'holdout')", name="member_arm"),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
        ),
        sa.PrimaryKeyConstraint("campaign_id", "customer_id"),
    )
    op.create_table(
        "outreach_consents",
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("opted_in", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("channel IN ('web', 'wechat')", name="consent_channel"),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
        ),
        sa.PrimaryKeyConstraint("customer_id", "channel"),
    )
    op.create_table(
        "outreach_messages",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("send_key", sa.String(length=160), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("template", sa.String(length=40), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=128), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("campaign_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("channel IN ('web', 'wechat')", name="outreach_channel"),
        sa.CheckConstraint("kind IN ('post_sale', 'back_in_stock', 'campaign')", name="outreach_kind"),
        sa.CheckConstraint(
            "status IN ('queued', 'sending', 'sent', 'delivered', 'skipped', 'dead', 'unknown')",
            name="outreach_status",
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("send_key"),
    )
    with op.batch_alter_table("outreach_messages", schema=None) as batch_op:
        batch_op.create_index("ix_outreach_customer_sent", ["customer_id", "sent_at"], unique=False)
        batch_op.create_index("ix_outreach_due", ["status", "next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_outreach_messages_campaign_id"), ["campaign_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outreach_messages_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "stock_subscriptions",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("location_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("address", sa.String(length=128), nullable=False),
        sa.Column("language", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("notified_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("channel IN ('web', 'wechat')", name="subscription_channel"),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.id"],
        ),
        sa.ForeignKeyConstraint(
            ["location_id"],
            ["locations.id"],
        ),
        sa.ForeignKeyConstraint(
            ["sku"],
            ["products.sku"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("stock_subscriptions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stock_subscriptions_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_stock_subscriptions_sku"), ["sku"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("stock_subscriptions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_stock_subscriptions_sku"))
        batch_op.drop_index(batch_op.f("ix_stock_subscriptions_customer_id"))

    op.drop_table("stock_subscriptions")
    with op.batch_alter_table("outreach_messages", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outreach_messages_customer_id"))
        batch_op.drop_index(batch_op.f("ix_outreach_messages_campaign_id"))
        batch_op.drop_index("ix_outreach_due")
        batch_op.drop_index("ix_outreach_customer_sent")

    op.drop_table("outreach_messages")
    op.drop_table("outreach_consents")
    op.drop_table("campaign_members")
    op.drop_table("outreach_cursors")
    op.drop_table("campaigns")
