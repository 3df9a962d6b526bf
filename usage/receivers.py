"""Signal receivers of the usage app, connected in UsageConfig.ready."""

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from usage.authz_cache import key_forget, numbers_version_bump
from usage.models import ApiKey, Channel, PhoneNumber


@receiver(post_save, sender=PhoneNumber, dispatch_uid="usage.authorization_follows_numbers_saved")
@receiver(post_delete, sender=PhoneNumber, dispatch_uid="usage.authorization_follows_numbers_deleted")
def authorization_follows_numbers(sender, instance: PhoneNumber, **kwargs) -> None:
    """A number bought, released or moved changes the routes of the workspace's references.
    Bumped now (for reads inside this transaction) and after the commit (for everyone else)."""
    workspace_id = Channel.objects.values_list("workspace_id", flat=True).get(pk=instance.channel_id)
    numbers_version_bump(workspace_id)
    transaction.on_commit(lambda: numbers_version_bump(workspace_id))


@receiver(post_delete, sender=ApiKey, dispatch_uid="usage.api_key_deleted")
def api_key_deleted(sender, instance: ApiKey, **kwargs) -> None:
    """A deleted key (or its workspace's) answers no call again, cached or not."""
    key_forget(key_hash=instance.key_hash)
    transaction.on_commit(lambda: key_forget(key_hash=instance.key_hash))
