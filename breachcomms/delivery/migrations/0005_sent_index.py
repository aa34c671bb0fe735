"""Accepted sends no longer get an attempt row: the auto-halt reads the wave's latest sends from the ledger."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('delivery', '0004_dispatch'),
        ('notices', '0002_roles'),
        ('recipients', '0005_import'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='deliveryattempt',
            name='attempt_final_idx',
        ),
        migrations.AddIndex(
            model_name='delivery',
            index=models.Index(condition=models.Q(('queued_at__isnull', False), ('status__in', ('sent', 'delivered', 'deferred', 'bounced', 'failed'))), fields=['wave', '-queued_at'], name='delivery_sent_idx'),
        ),
    ]
