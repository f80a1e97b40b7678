"""Forms of the learning pages and their administration."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    EmailField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from recruit.forms import FiniteDecimalField


class ConfirmForm(FlaskForm):
    """A button that posts with a CSRF token, e.g. "Mark as read"."""

    submit = SubmitField(_l("Confirm"))


class EnrolForm(FlaskForm):
    email = EmailField(_l("Email of the person to enrol"), validators=[DataRequired()])
    submit = SubmitField(_l("Enrol"))


class OpeningForm(FlaskForm):
    opening = SelectField(_l("Opening"), coerce=int)
    submit = SubmitField(_l("Attach to opening"))


class BulkIssueForm(FlaskForm):
    opening = SelectField(_l("Cohort"), coerce=int)
    submit = SubmitField(_l("Issue missing certificates"))


class RevokeForm(FlaskForm):
    reason = StringField(
        _l("Reason for revoking"), validators=[DataRequired(), Length(max=500)]
    )
    submit = SubmitField(_l("Revoke"))


class ReissueForm(FlaskForm):
    reason = StringField(
        _l("Reason for re-issuing"), validators=[DataRequired(), Length(max=500)]
    )
    submit = SubmitField(_l("Re-issue"))


class ImportForm(FlaskForm):
    file = FileField(_l("GIFT or Moodle XML file"), validators=[FileRequired()])
    bank = StringField(
        _l("Question bank"), validators=[DataRequired(), Length(max=200)]
    )
    skip_invalid = BooleanField(_l("Import the valid questions when some are invalid"))
    submit = SubmitField(_l("Import"))


class GradeForm(FlaskForm):
    percent = FiniteDecimalField(
        _l("Mark (% of the question's marks)"),
        validators=[DataRequired(), NumberRange(min=0, max=100)],
    )
    feedback = TextAreaField(_l("Feedback for the trainee"), validators=[Optional()])
    submit = SubmitField(_l("Save the mark"))
