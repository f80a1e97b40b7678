"""Forms for accounts and applications; every one carries a CSRF token."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, EqualTo, Length, ValidationError


# The autocomplete tokens of the HTML standard let browsers and password
# managers fill in these fields and tell a login from a new password.
class LoginForm(FlaskForm):
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(), Email(), Length(max=254)],
        render_kw={"autocomplete": "email"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), Length(max=200)],
        render_kw={"autocomplete": "current-password"},
    )
    submit = SubmitField(_l("Log in"))


class RegisterForm(FlaskForm):
    name = StringField(
        _l("Full name"),
        validators=[DataRequired(), Length(max=200)],
        render_kw={"autocomplete": "name"},
    )
    email = EmailField(
        _l("Email"),
        validators=[DataRequired(), Email(), Length(max=254)],
        render_kw={"autocomplete": "email"},
    )
    password = PasswordField(
        _l("Password"),
        validators=[DataRequired(), Length(min=10, max=200)],
        description=_l("At least 10 characters."),
        render_kw={"autocomplete": "new-password"},
    )
    confirm = PasswordField(
        _l("Repeat the password"),
        validators=[
            DataRequired(),
            EqualTo("password", message=_l("Passwords differ.")),
        ],
        render_kw={"autocomplete": "new-password"},
    )
    submit = SubmitField(_l("Create account"))

    def validate_name(self, field: StringField) -> None:
        from recruit.auth import clean_name

        if not clean_name(field.data or ""):
            raise ValidationError(_l("Enter your name in letters."))


class ApplyForm(FlaskForm):
    submit = SubmitField(_l("Apply"))
