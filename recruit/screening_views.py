"""The screening form that a candidate fills in first, and its evidence helpers."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    Form,
    FormField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    ValidationError,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, InputRequired, Length, Optional, Regexp
from wtforms.widgets import CheckboxInput, ListWidget

from recruit.auth import roles_required
from recruit.models import Application, Role, Screening, StageKind
from recruit.public import own_application
from recruit.screening import (
    CEFR_LEVELS,
    SHIFTS,
    ScreeningError,
    country_codes,
    find_screening,
    knockout_questions,
    language_codes,
    question_options,
    screening_summary,
    submit_screening,
    time_zones,
    valid_time_zone,
)

bp = Blueprint("screening", __name__)

SHIFT_LABELS = {
    "day": _l("Day (08:00-16:00)"),
    "evening": _l("Evening (16:00-24:00)"),
    "night": _l("Night (00:00-08:00)"),
    "weekend": _l("Weekends"),
}
ANSWER_LABELS = {"yes": _l("Yes"), "no": _l("No")}


def options(pairs: Any) -> list[SelectChoice]:
    """Build WTForms choices from (value, label) pairs."""
    return [SelectChoice(value, label) for value, label in pairs]


class MultiCheckboxField(SelectMultipleField):
    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class LanguageForm(Form):
    code = SelectField(_l("Language"), validate_choice=False)
    level = SelectField(
        _l("Level"),
        choices=options(
            [("", _l("Choose…"))] + [(level, level) for level in CEFR_LEVELS]
        ),
        validate_choice=False,
    )


class ScreeningForm(FlaskForm):
    phone = StringField(
        _l("Phone (optional)"),
        validators=[
            Optional(),
            Length(max=40),
            Regexp(
                r"^\+?[0-9 ()./-]{6,40}$",
                message=_l("Use digits, spaces and + ( ) - only."),
            ),
        ],
        description=_l("With the country code, such as +1 555 010 0199."),
    )
    country = SelectField(
        _l("Country you live in"),
        validators=[DataRequired(_l("Choose your country."))],
    )
    time_zone = SelectField(
        _l("Your time zone"),
        validators=[DataRequired(_l("Choose your time zone."))],
        description=_l("An IANA time zone name, such as America/Chicago."),
    )
    language_1 = FormField(LanguageForm, label=_l("First language you speak"))
    language_2 = FormField(LanguageForm, label=_l("Second language (optional)"))
    language_3 = FormField(LanguageForm, label=_l("Third language (optional)"))
    shifts = MultiCheckboxField(
        _l("Shifts you can work"),
        choices=options((shift, SHIFT_LABELS[shift]) for shift in SHIFTS),
        validators=[DataRequired(_l("Choose at least one shift."))],
    )
    submit = SubmitField(_l("Send"))

    def validate_time_zone(self, field: SelectField) -> None:
        if not valid_time_zone(field.data or ""):
            raise ValidationError(_("Choose a time zone from the list."))

    def validate_country(self, field: SelectField) -> None:
        if field.data not in country_codes():
            raise ValidationError(_("Choose your country from the list."))

    def language_entries(self) -> list[dict[str, str]]:
        return [
            {"code": entry.code.data, "level": entry.level.data}
            for entry in (self.language_1, self.language_2, self.language_3)
            if entry.code.data
        ]

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        codes = language_codes()
        for number, entry in enumerate(
            (self.language_1, self.language_2, self.language_3), start=1
        ):
            code, level = entry.code, entry.level
            if number == 1 and not code.data:
                code.errors = [*code.errors, _("Choose a language.")]
                valid = False
            if code.data and code.data not in codes:
                code.errors = [*code.errors, _("Choose a language from the list.")]
                valid = False
            if code.data and level.data not in CEFR_LEVELS:
                level.errors = [*level.errors, _("Choose your level, A1 to C2.")]
                valid = False
        entries = self.language_entries()
        if len({entry["code"] for entry in entries}) < len(entries):
            self.language_2.code.errors = [
                *self.language_2.code.errors,
                _("Each language once, please."),
            ]
            valid = False
        return valid


def build_form(application: Application) -> ScreeningForm:
    """Build the screening form with one required question per knock-out question."""

    class OpeningScreeningForm(ScreeningForm):
        pass

    for question in knockout_questions(application.opening_id):
        choices = options(
            (option, ANSWER_LABELS.get(option, option))
            for option in question_options(question)
        )
        field = RadioField(
            question.text,
            choices=choices,
            validators=[InputRequired(_l("Answer this question."))],
        )
        setattr(OpeningScreeningForm, f"question_{question.id}", field)
    form = OpeningScreeningForm()
    choose = [("", _("Choose…"))]
    form.country.choices = options(choose + list(country_codes().items()))
    form.time_zone.choices = options(choose + [(zone, zone) for zone in time_zones()])
    languages = options(choose + list(language_codes().items()))
    for entry in (form.language_1, form.language_2, form.language_3):
        entry.code.choices = languages
    return form


@bp.route("/me/applications/<int:application_id>/screening", methods=["GET", "POST"])
@roles_required(Role.CANDIDATE)
def screening(application_id: int) -> Any:
    application = own_application(application_id)
    back = url_for("public.application", application_id=application.id)
    stage = application.current_stage
    if find_screening(application) is not None:
        flash(_("Your screening answers were already sent."), "info")
        return redirect(back)
    if stage is None or stage.kind != StageKind.SCREENING:
        return redirect(back)
    form = build_form(application)
    questions = knockout_questions(application.opening_id)
    if form.validate_on_submit():
        answers = {q.id: getattr(form, f"question_{q.id}").data for q in questions}
        try:
            result = submit_screening(
                application,
                phone=(form.phone.data or "").strip() or None,
                country=form.country.data or "",
                time_zone=form.time_zone.data or "",
                languages=form.language_entries(),
                shifts=list(form.shifts.data or []),
                answers=answers,
            )
        except ScreeningError as error:
            flash(str(error), "error")
            return redirect(back)
        if result.passed:
            flash(_("Thank you. You can start the next stage now."), "success")
        else:
            flash(
                _(
                    "Thank you for your answers. This role needs something your "
                    "answers rule out, so we cannot continue with your application."
                ),
                "info",
            )
        return redirect(back)
    question_fields = [getattr(form, f"question_{q.id}") for q in questions]
    return render_template(
        "public/screening.html",
        application=application,
        form=form,
        question_fields=question_fields,
    )


@bp.app_template_global()
def screening_for(application: Application) -> Screening | None:
    return find_screening(application)


@bp.app_template_global()
def screening_details(screening: Screening) -> dict[str, Any]:
    return screening_summary(screening)
