"""Commands for accounts and demo data."""

from __future__ import annotations

import click
from email_validator import EmailNotValidError, validate_email
from flask import Flask
from flask.cli import with_appcontext

from courses.demo import TRAINEE
from recruit.auth import create_user
from recruit.demo import DEMO_ACCOUNTS, DEMO_PASSWORD, seed_demo
from recruit.models import Role


@click.command("create-user")
@with_appcontext
@click.option("--email", required=True, help="Login email of the new account.")
@click.option("--name", required=True, help="Full name shown in the app.")
@click.option(
    "--role",
    type=click.Choice([role.value for role in Role]),
    required=True,
    help="What the account may do.",
)
@click.password_option(help="Password; asked for twice when not given.")
def create_user_command(email: str, name: str, role: str, password: str) -> None:
    """Create an account, such as a recruiter or an admin."""
    if len(password) < 10:
        raise click.BadParameter("use at least 10 characters", param_hint="--password")
    try:
        email = validate_email(email, check_deliverability=False).normalized
    except EmailNotValidError as error:
        raise click.BadParameter(str(error), param_hint="--email") from error
    try:
        user = create_user(email, name, password, Role(role))
    except ValueError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"created {user.role.value} {user.email} (id {user.id})")


@click.command("seed-demo")
@with_appcontext
def seed_demo_command() -> None:
    """Load the demo accounts, opening and candidates; a second run changes nothing."""
    added = seed_demo()
    for line in added:
        click.echo(f"added {line}")
    if not added:
        click.echo("demo data already present; nothing changed")
    click.echo(f"demo logins (password {DEMO_PASSWORD!r}):")
    for email, _name, role in DEMO_ACCOUNTS:
        click.echo(f"  {role.value:<10} {email}")
    click.echo(f"  {'trainee':<10} {TRAINEE[0]}")


def register(app: Flask) -> None:
    app.cli.add_command(create_user_command)
    app.cli.add_command(seed_demo_command)
