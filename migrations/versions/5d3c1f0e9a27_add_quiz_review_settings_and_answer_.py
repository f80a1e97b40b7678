"""Add quiz review settings and answer revisions

Revision ID: 5d3c1f0e9a27
Revises: 4ae1a02dd391
Create Date: 2026-12-04 19:05:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '5d3c1f0e9a27'
down_revision = '4ae1a02dd391'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('quiz', schema=None) as batch_op:
        batch_op.add_column(sa.Column('review_answers', sa.Enum('each_attempt', 'last_or_pass', 'never', name='review_answers', native_enum=False, create_constraint=True, length=20), server_default='last_or_pass', nullable=False))

    with op.batch_alter_table('quiz_answer', schema=None) as batch_op:
        batch_op.add_column(sa.Column('revision', sa.Integer(), server_default=sa.text('1'), nullable=False))


def downgrade():
    with op.batch_alter_table('quiz_answer', schema=None) as batch_op:
        batch_op.drop_column('revision')

    with op.batch_alter_table('quiz', schema=None) as batch_op:
        batch_op.drop_column('review_answers')
