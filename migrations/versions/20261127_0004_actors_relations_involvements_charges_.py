"""actors, relations, involvements, charges, links to every target

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 17:54:27.736159
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


ONE_TARGET = (
    "(CASE WHEN incident_id IS NULL THEN 0 ELSE 1 END) + (CASE WHEN actor_id IS NULL THEN 0 ELSE 1 END)"
    " + (CASE WHEN relation_id IS NULL THEN 0 ELSE 1 END)"
    " + (CASE WHEN involvement_id IS NULL THEN 0 ELSE 1 END)"
    " + (CASE WHEN charge_id IS NULL THEN 0 ELSE 1 END) = 1"
)


def upgrade() -> None:
    op.create_table(
        "actors",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column(
            "kind",
            sa.Enum(
                "person",
                "organisation",
                "armed_group",
                "unit",
                "state_body",
                name="actor_kind",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("aliases", sa.JSON(), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("date_of_birth", sa.String(length=40), nullable=False),
        sa.Column("nationality", sa.String(length=100), nullable=False),
        sa.Column("identifiers", sa.JSON(), nullable=False),
        sa.Column("merged_into_id", sa.Uuid(), nullable=True),
        sa.Column("created_by_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_actors_case_id_cases"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(
            ["created_by_id"], ["users.id"], name=op.f("fk_actors_created_by_id_users"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["actors.id"], name=op.f("fk_actors_merged_into_id_actors"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_actors")),
    )
    with op.batch_alter_table("actors", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_actors_case_id"), ["case_id"], unique=False)

    op.create_table(
        "actor_relations",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("source_actor_id", sa.Uuid(), nullable=False),
        sa.Column("target_actor_id", sa.Uuid(), nullable=False),
        sa.Column(
            "relation",
            sa.Enum(
                "commands",
                "superior_of",
                "member_of",
                "subordinate_unit_of",
                "affiliated_with",
                "allied_with",
                "supplies",
                "finances",
                name="actor_relation_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("valid_from", sa.Date(), nullable=True),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column(
            "confidence",
            sa.Enum(
                "low",
                "medium",
                "high",
                name="relation_confidence",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.CheckConstraint("source_actor_id <> target_actor_id", name=op.f("ck_actor_relations_not_self")),
        sa.CheckConstraint(
            "valid_to IS NULL OR valid_from IS NULL OR valid_to >= valid_from",
            name=op.f("ck_actor_relations_date_order"),
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_actor_relations_case_id_cases"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["source_actor_id"],
            ["actors.id"],
            name=op.f("fk_actor_relations_source_actor_id_actors"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["target_actor_id"],
            ["actors.id"],
            name=op.f("fk_actor_relations_target_actor_id_actors"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_actor_relations")),
    )
    with op.batch_alter_table("actor_relations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_actor_relations_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_actor_relations_source_actor_id"), ["source_actor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_actor_relations_target_actor_id"), ["target_actor_id"], unique=False)

    op.create_table(
        "charges",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("suspect_id", sa.Uuid(), nullable=False),
        sa.Column("offence_code", sa.String(length=40), nullable=False),
        sa.Column("mode_code", sa.String(length=40), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(["case_id"], ["cases.id"], name=op.f("fk_charges_case_id_cases"), ondelete="RESTRICT"),
        sa.ForeignKeyConstraint(
            ["suspect_id"], ["actors.id"], name=op.f("fk_charges_suspect_id_actors"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_charges")),
    )
    with op.batch_alter_table("charges", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_charges_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_charges_suspect_id"), ["suspect_id"], unique=False)

    op.create_table(
        "involvements",
        sa.Column("case_id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=False),
        sa.Column(
            "degree",
            sa.Enum(
                "direct_perpetrator",
                "gave_orders",
                "planned",
                "instigated",
                "aided",
                "contributed_to_common_purpose",
                "failed_to_prevent",
                "failed_to_punish",
                name="involvement_degree",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("mode_of_liability", sa.String(length=40), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "alleged",
                "suspected",
                "established",
                name="involvement_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["actors.id"], name=op.f("fk_involvements_actor_id_actors"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["case_id"], ["cases.id"], name=op.f("fk_involvements_case_id_cases"), ondelete="RESTRICT"
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"], ["incidents.id"], name=op.f("fk_involvements_incident_id_incidents"), ondelete="RESTRICT"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_involvements")),
    )
    with op.batch_alter_table("involvements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_involvements_actor_id"), ["actor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_involvements_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_involvements_incident_id"), ["incident_id"], unique=False)

    op.create_table(
        "charge_incidents",
        sa.Column("charge_id", sa.Uuid(), nullable=False),
        sa.Column("incident_id", sa.Uuid(), nullable=False),
        sa.ForeignKeyConstraint(
            ["charge_id"], ["charges.id"], name=op.f("fk_charge_incidents_charge_id_charges"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_charge_incidents_incident_id_incidents"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("charge_id", "incident_id", name=op.f("pk_charge_incidents")),
    )
    with op.batch_alter_table("evidence_links", schema=None) as batch_op:
        batch_op.add_column(sa.Column("actor_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("relation_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("involvement_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("charge_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("element_code", sa.String(length=60), nullable=True))
        batch_op.drop_constraint(batch_op.f("uq_evidence_links_evidence_id_incident_id"), type_="unique")
        batch_op.create_index(batch_op.f("ix_evidence_links_actor_id"), ["actor_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_evidence_links_charge_id"), ["charge_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_evidence_links_involvement_id"), ["involvement_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_evidence_links_relation_id"), ["relation_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_evidence_links_charge_id_charges"), "charges", ["charge_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_evidence_links_relation_id_actor_relations"),
            "actor_relations",
            ["relation_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_evidence_links_involvement_id_involvements"),
            "involvements",
            ["involvement_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_evidence_links_actor_id_actors"), "actors", ["actor_id"], ["id"], ondelete="CASCADE"
        )
        # A link now has exactly one of five targets; a charge target also names the element.
        batch_op.drop_constraint(op.f("ck_evidence_links_one_target"), type_="check")
        batch_op.create_check_constraint("one_target", ONE_TARGET)
        batch_op.create_check_constraint("charge_element", "(charge_id IS NULL) = (element_code IS NULL)")


def downgrade() -> None:
    # Links to actors, relations, involvements and charges cannot exist before this revision.
    op.execute("DELETE FROM evidence_links WHERE incident_id IS NULL")
    with op.batch_alter_table("evidence_links", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_evidence_links_charge_element"), type_="check")
        batch_op.drop_constraint(op.f("ck_evidence_links_one_target"), type_="check")
        batch_op.create_check_constraint("one_target", "incident_id IS NOT NULL")
        batch_op.drop_constraint(batch_op.f("fk_evidence_links_actor_id_actors"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_evidence_links_involvement_id_involvements"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_evidence_links_relation_id_actor_relations"), type_="foreignkey")
        batch_op.drop_constraint(batch_op.f("fk_evidence_links_charge_id_charges"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_evidence_links_relation_id"))
        batch_op.drop_index(batch_op.f("ix_evidence_links_involvement_id"))
        batch_op.drop_index(batch_op.f("ix_evidence_links_charge_id"))
        batch_op.drop_index(batch_op.f("ix_evidence_links_actor_id"))
        batch_op.create_unique_constraint(
            batch_op.f("uq_evidence_links_evidence_id_incident_id"), ["evidence_id", "incident_id"]
        )
        batch_op.drop_column("element_code")
        batch_op.drop_column("charge_id")
        batch_op.drop_column("involvement_id")
        batch_op.drop_column("relation_id")
        batch_op.drop_column("actor_id")

    op.drop_table("charge_incidents")
    with op.batch_alter_table("involvements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_involvements_incident_id"))
        batch_op.drop_index(batch_op.f("ix_involvements_case_id"))
        batch_op.drop_index(batch_op.f("ix_involvements_actor_id"))

    op.drop_table("involvements")
    with op.batch_alter_table("charges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_charges_suspect_id"))
        batch_op.drop_index(batch_op.f("ix_charges_case_id"))

    op.drop_table("charges")
    with op.batch_alter_table("actor_relations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_actor_relations_target_actor_id"))
        batch_op.drop_index(batch_op.f("ix_actor_relations_source_actor_id"))
        batch_op.drop_index(batch_op.f("ix_actor_relations_case_id"))

    op.drop_table("actor_relations")
    with op.batch_alter_table("actors", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_actors_case_id"))

    op.drop_table("actors")
