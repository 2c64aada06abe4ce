"""One customer across channels (issue 18): link codes, failed attempts, links with what they moved, and
the pointer from a linked customer to the account it is linked into.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03 17:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

BIG_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.add_column(sa.Column("merged_into", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_customers_merged_into"), ["merged_into"], unique=False)
        batch_op.create_foreign_key("fk_customers_merged_into", "customers", ["merged_into"], ["id"])
    op.create_table(
        "link_codes",
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.PrimaryKeyConstraint("digest"),
    )
    op.create_index("ix_link_codes_customer_id", "link_codes", ["customer_id"], unique=False)
    op.create_table(
        "link_attempts",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_link_attempts_customer_at", "link_attempts", ["customer_id", "at"], unique=False)
    op.create_table(
        "customer_links",
        sa.Column("id", BIG_ID, autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("into_id", sa.String(length=64), nullable=False),
        sa.Column("linked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unlinked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("moved", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"]),
        sa.ForeignKeyConstraint(["into_id"], ["customers.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_customer_links_customer_id", "customer_links", ["customer_id"], unique=False)
    op.create_index("ix_customer_links_into_id", "customer_links", ["into_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_customer_links_into_id", table_name="customer_links")
    op.drop_index("ix_customer_links_customer_id", table_name="customer_links")
    op.drop_table("customer_links")
    op.drop_index("ix_link_attempts_customer_at", table_name="link_attempts")
    op.drop_table("link_attempts")
    op.drop_index("ix_link_codes_customer_id", table_name="link_codes")
    op.drop_table("link_codes")
    with op.batch_alter_table("customers", schema=None) as batch_op:
        batch_op.drop_constraint("fk_customers_merged_into", type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_customers_merged_into"))
        batch_op.drop_column("merged_into")
