"""The plain-text keys of DRF's tokens become ApiTokens holding only their digest, with every scope (the
power they had; their owner's permissions still bound them) and no expiry; the plain keys are deleted.
Their holders keep working unchanged and are told, in the admin and `api_token list`, to rotate them."""

import hashlib

from django.db import migrations

SCOPES = ["read", "operate", "notify", "admin"]


def hash_keys(apps, schema_editor):
    Token = apps.get_model("authtoken", "Token")
    ApiToken = apps.get_model("access", "ApiToken")
    for old in Token.objects.all():
        ApiToken.objects.create(
            name="migrated token (rotate it)",
            user_id=old.user_id,
            prefix="drf_" + old.key[:12],
            digest=hashlib.sha256(old.key.encode()).hexdigest(),
            scopes=SCOPES,
            migrated=True,
        )
    Token.objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("access", "0001_initial"), ("authtoken", "0004_alter_tokenproxy_options")]

    # Irreversible on purpose: the plain keys are gone, which is the point.
    operations = [migrations.RunPython(hash_keys, migrations.RunPython.noop)]
