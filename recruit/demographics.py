"""The voluntary self-report of sex and race/ethnicity, kept apart from applications.

Only the aggregate fairness report reads it. A candidate may skip the survey,
choose "prefer not to say", or change the response at any time.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import RadioField, SubmitField
from wtforms.fields.choices import SelectChoice

from app import db
from recruit.auth import roles_required
from recruit.models import DemographicResponse, RaceEthnicity, Role, Sex

bp = Blueprint("demographics", __name__)

SEX_CHOICES = [
    SelectChoice(Sex.FEMALE.value, _l("Female")),
    SelectChoice(Sex.MALE.value, _l("Male")),
    SelectChoice(Sex.OTHER.value, _l("Another sex or gender")),
    SelectChoice(Sex.DECLINED.value, _l("Prefer not to say")),
]
RACE_CHOICES = [
    SelectChoice(RaceEthnicity.HISPANIC_LATINO.value, _l("Hispanic or Latino")),
    SelectChoice(RaceEthnicity.WHITE.value, _l("White")),
    SelectChoice(RaceEthnicity.BLACK.value, _l("Black or African American")),
    SelectChoice(
        RaceEthnicity.PACIFIC_ISLANDER.value, _l("Native Hawaiian or Pacific Islander")
    ),
    SelectChoice(RaceEthnicity.ASIAN.value, _l("Asian")),
    SelectChoice(
        RaceEthnicity.NATIVE_AMERICAN.value, _l("American Indian or Alaska Native")
    ),
    SelectChoice(RaceEthnicity.TWO_OR_MORE.value, _l("Two or more races")),
    SelectChoice(RaceEthnicity.DECLINED.value, _l("Prefer not to say")),
]


class DemographicsForm(FlaskForm):
    sex = RadioField(_l("Sex"), choices=SEX_CHOICES, default=Sex.DECLINED.value)
    race_ethnicity = RadioField(
        _l("Race or ethnicity"),
        choices=RACE_CHOICES,
        default=RaceEthnicity.DECLINED.value,
    )
    submit = SubmitField(_l("Save"))


@bp.route("/me/equal-opportunity", methods=["GET", "POST"])
@roles_required(Role.CANDIDATE)
def survey() -> Any:
    response = db.session.scalar(
        select(DemographicResponse).where(
            DemographicResponse.user_id == current_user.id
        )
    )
    form = DemographicsForm(obj=response)
    if form.validate_on_submit():
        if response is None:
            response = DemographicResponse(user_id=current_user.id)
            db.session.add(response)
        response.sex = Sex(form.sex.data)
        response.race_ethnicity = RaceEthnicity(form.race_ethnicity.data)
        db.session.commit()
        flash(
            _("Thank you. Your answer is saved apart from your application."), "success"
        )
        return redirect(url_for("public.my_applications"))
    return render_template("public/demographics.html", form=form)
