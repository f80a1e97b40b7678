"""Forms of the ranking, decisions, settings and integrations pages."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (
    BooleanField,
    FieldList,
    FormField,
    HiddenField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
    URLField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    URL,
    DataRequired,
    InputRequired,
    Length,
    NumberRange,
    Optional,
)
from wtforms.widgets import CheckboxInput, ListWidget

from recruit.forms import FiniteDecimalField

REASON_HELP = _l("Recorded in the audit log with your name and the time.")


class BulkDecisionForm(FlaskForm):
    action = SelectField(
        _l("Action for the selected applications"),
        choices=[
            SelectChoice("advance", _l("Advance to the next stage")),
            SelectChoice("hold", _l("Put on hold")),
            SelectChoice("reject", _l("Reject")),
        ],
    )
    reason = StringField(
        _l("Reason"),
        validators=[Length(max=500)],
        description=_l("Required to reject. ") + REASON_HELP,
    )
    message = TextAreaField(
        _l("Message to the candidates (optional, sent with a rejection)"),
        validators=[Length(max=2000)],
    )
    submit = SubmitField(_l("Apply to selected"))


class DecisionForm(FlaskForm):
    action = SelectField(
        _l("Decision"),
        choices=[
            SelectChoice("advance", _l("Advance to the next stage")),
            SelectChoice("hold", _l("Put on hold")),
            SelectChoice("reject", _l("Reject")),
            SelectChoice("hire", _l("Hire")),
        ],
    )
    reason = StringField(
        _l("Reason"), validators=[Length(max=500)], description=REASON_HELP
    )
    message = TextAreaField(
        _l("Message to the candidate (optional, sent with a rejection)"),
        validators=[Length(max=2000)],
    )
    confirm_hire = BooleanField(
        _l("I have seen this person's other open applications and want to hire them")
    )
    submit = SubmitField(_l("Record decision"))


class OverrideForm(FlaskForm):
    stage_id = SelectField(_l("Stage"), coerce=int)
    score = FiniteDecimalField(
        _l("Score to use instead (0–100, optional)"),
        places=1,
        validators=[Optional(), NumberRange(min=0, max=100)],
    )
    waive_pass_mark = BooleanField(_l("Let a score below the pass mark through"))
    reason = StringField(
        _l("Reason"),
        validators=[DataRequired(), Length(max=500)],
        description=_l(
            "Required. Leave the score empty and the box unticked to remove "
            "the override. "
        )
        + REASON_HELP,
    )
    submit = SubmitField(_l("Save override"))


class ReviewScoreForm(FlaskForm):
    """A recruiter's review of an answer whose score the scorer withheld."""

    action = SelectField(
        choices=[
            SelectChoice("accept", _l("Accept the computed score")),
            SelectChoice("replace", _l("Use the score entered")),
        ]
    )
    score = FiniteDecimalField(
        _l("Score to use instead (0–100)"),
        places=1,
        validators=[Optional(), NumberRange(min=0, max=100)],
    )
    reason = StringField(
        _l("Reason"),
        validators=[DataRequired(), Length(max=500)],
        description=REASON_HELP,
    )


class StageSettingForm(FlaskForm):
    class Meta:
        csrf = False  # the enclosing form carries the token

    stage_id = HiddenField()
    weight = FiniteDecimalField(
        _l("Weight"), places=1, validators=[InputRequired(), NumberRange(0, 100)]
    )
    pass_mark = FiniteDecimalField(
        _l("Pass mark"), places=1, validators=[InputRequired(), NumberRange(0, 100)]
    )
    enabled = BooleanField(_l("Enabled"))


class OpeningSettingsForm(FlaskForm):
    stages = FieldList(FormField(StageSettingForm))
    reason = StringField(
        _l("Reason for the change"),
        validators=[DataRequired(), Length(max=500)],
        description=REASON_HELP,
    )
    submit = SubmitField(_l("Save and re-rank"))


class ImportForm(FlaskForm):
    file = FileField(
        _l("CSV file"),
        validators=[FileRequired()],
        description=_l(
            "UTF-8, with the header name,email,languages,opening. Languages are "
            "ISO 639-1 codes separated by spaces or semicolons, each optionally "
            "with a CEFR level (en:C1; es). Opening is the opening's number."
        ),
    )
    send_invitations = BooleanField(_l("Email an invitation to each new candidate"))
    submit = SubmitField(_l("Import"))


class TokenForm(FlaskForm):
    name = StringField(
        _l("Token name"),
        validators=[DataRequired(), Length(max=100)],
        description=_l("What the token is for, e.g. the ATS that uses it."),
    )
    days = IntegerField(
        _l("Valid for (days)"), default=90, validators=[NumberRange(min=1, max=365)]
    )
    submit = SubmitField(_l("Create token"))


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class WebhookForm(FlaskForm):
    url = URLField(
        _l("Receiver URL"),
        validators=[DataRequired(), URL(require_tld=False), Length(max=500)],
    )
    events = MultiCheckboxField(
        _l("Events"),
        choices=[
            SelectChoice("stage_changed", _l("Stage or status changed")),
            SelectChoice("hired", _l("Hired")),
        ],
        validators=[DataRequired()],
    )
    submit = SubmitField(_l("Add webhook"))


class SimpleActionForm(FlaskForm):
    submit = SubmitField(_l("Confirm"))
