"""Writes of the delivery app: waves (schedule, launch, pause, resume, abort, auto-halt), suppressions,
dispatching, sending and reconciling. Import them from here."""

from __future__ import annotations

from breachcomms.delivery.services.deliveries import (
    DispatchReport,
    SendReport,
    delivery_dispatch_due,
    delivery_fallback_create,
    delivery_reconcile_in_doubt,
    delivery_send_batch,
)
from breachcomms.delivery.services.waves import (
    LaunchRefused,
    WaveStateError,
    suppression_add,
    suppression_remove,
    wave_abort,
    wave_check_auto_halt,
    wave_complete,
    wave_halt,
    wave_launch,
    wave_pause,
    wave_resume,
    wave_schedule,
    wave_unschedule,
    waves_launch_due,
)

__all__ = [
    "DispatchReport",
    "LaunchRefused",
    "SendReport",
    "WaveStateError",
    "delivery_dispatch_due",
    "delivery_fallback_create",
    "delivery_reconcile_in_doubt",
    "delivery_send_batch",
    "suppression_add",
    "suppression_remove",
    "wave_abort",
    "wave_check_auto_halt",
    "wave_complete",
    "wave_halt",
    "wave_launch",
    "wave_pause",
    "wave_resume",
    "wave_schedule",
    "wave_unschedule",
    "waves_launch_due",
]
