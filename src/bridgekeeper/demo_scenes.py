"""The demo's script: an alert arrives, is declared an incident, worked, closed and reported."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bridgekeeper.demo import Demo

# A Defender for Cloud security alert (continuous-export shape), as Defender would POST it.
DEFENDER_ALERT: dict[str, Any] = {
    "VendorName": "Microsoft",
    "ProductName": "Microsoft Defender for Cloud",
    "AlertType": "SUSPECT_SVCHOST",
    "SystemAlertId": "2517125899166499999_5f3b7c2e-0d41-4a8e-9b6f-1c2d3e4f5a6b",
    "AlertDisplayName": "Suspicious process detected",
    "Description": "Suspicious process named 'SVCHOST.EXE' was running from path: "
    "c:\\users\\public\\svchost.exe. This process is normally launched from "
    "C:\\Windows\\System32 and running it from any other location may indicate "
    "masquerading malware.",
    "Severity": "High",
    "Status": "New",
    "StartTimeUtc": "2025-11-14T10:01:12.335Z",
    "TimeGenerated": "2025-11-14T10:03:40.517Z",
    "CompromisedEntity": "vm-web-01",
    "AzureResourceId": "/subscriptions/7d2f1c3a-5b8e-4e6f-9a1b-2c3d4e5f6a7b/resourceGroups/"
    "rg-prod-web/providers/Microsoft.Compute/virtualMachines/vm-web-01",
    "Entities": [
        {"$id": "4", "HostName": "vm-web-01", "OSFamily": "Windows", "Type": "host"},
        {"$id": "5", "Name": "svc-deploy", "NTDomain": "CONTOSO", "Type": "account"},
        {"$id": "8", "Address": "203.0.113.45", "Type": "ip"},
    ],
}


async def play(demo: Demo, *, triage: str, folder: Path) -> None:
    say = demo.transcript.say
    say("bridgekeeper demo: an incident from alert to report, on a built-in Slack emulator.")
    say("Every request below is real HTTP to bridgekeeper's server: the alert webhook, and")
    say("Slack's signed slash commands, button clicks and form submissions. No workspace needed.")
    say(
        f"\nIt is {demo.clock.now():%Y-%m-%d %H:%M} UTC. Defender for Cloud spots a masqueraded"
        " svchost.exe on vm-web-01:"
    )
    await demo.webhook("defender", DEFENDER_ALERT, sender="Defender for Cloud")
    card = demo.last_message(triage)
    demo.later(4)
    await demo.click("U0ALICE", triage, card, "alert_ack")
    demo.later(5)
    await demo.click("U0ALICE", triage, card, "alert_declare")
    await _bridge_scene(demo)
    await _stakeholder_scene(demo)
    await _closing_scene(demo, folder)


async def _bridge_scene(demo: Demo) -> None:
    """The bridge team at work: roles, stage, impact, severity with a reason, notes, tasks."""
    bridge = demo.channel("inc-1")
    demo.transcript.say("\nThe bridge team works in the incident's channel:")
    for minutes, user, text in (
        (2, "U0ALICE", "role analyst <@U0BOB|bob>"),
        (1, "U0ALICE", "role comms <@U0CAROL|carol>"),
        (
            9,
            "U0BOB",
            "stage assess 40 failed logons for svc-deploy, then a success from 203.0.113.45",
        ),
        (6, "U0BOB", "impact c=high i=low a=none personal-data=yes"),
        (1, "U0CAROL", "severity sev1 attacker reached customer data"),
        (1, "U0ALICE", "severity sev1 attacker reached customer data"),
        (4, "U0BOB", "note svc-deploy is a service account without MFA"),
        (1, "U0ALICE", "task disable the service account <@U0BOB|bob>"),
    ):
        if minutes > 1:
            demo.later(minutes)
        else:
            demo.clock.advance(minutes=minutes)
        await demo.command(text, user=user, channel=bridge)
    demo.later(3)
    message = demo.slack.post_user_message(
        bridge, "U0BOB", "EDR shows svchost.exe from a temp path"
    )
    demo.transcript.user_typed("U0BOB", bridge, message.text)
    demo.transcript.user_did("U0ALICE", "reacts with :pushpin:")
    await demo.driver.reaction_added(user="U0ALICE", channel=bridge, ts=message.ts)
    await demo.settle()


async def _stakeholder_scene(demo: Demo) -> None:
    """Keeping stakeholders informed: a status update and a GDPR notification clock."""
    bridge = demo.channel("inc-1")
    demo.transcript.say("\nThe commander keeps stakeholders informed (#stakeholders):")
    demo.later(5)
    for text in (
        "update The attacker's session is cut and the account disabled; we are checking "
        "which customer records were read. Next update within 30 minutes.",
        "notify gdpr",
    ):
        await demo.command(text, user="U0ALICE", channel=bridge)


async def _closing_scene(demo: Demo, folder: Path) -> None:
    """Closing: the gate, the close form, the report written to `folder`, the archive."""
    bridge = demo.channel("inc-1")
    demo.later(47)
    await demo.command("notify done gdpr", user="U0ALICE", channel=bridge)
    demo.later(12)
    for text in ("stage stabilize service account disabled, sessions revoked", "task done 1"):
        await demo.command(text, user="U0ALICE", channel=bridge)
    demo.transcript.say("\nThe incident is over; the commander closes it:")
    demo.later(38)
    await demo.command("close", user="U0ALICE", channel=bridge)
    demo.clock.advance(minutes=6)
    await demo.submit("U0ALICE", "incident_close", _close_form())
    await demo.command("timeline", user="U0ALICE", channel=bridge)
    demo.transcript.say("\nA day later the bridge channel is archived:")
    demo.clock.advance(hours=24)
    await demo.bk.archiving.run_due_archives(demo.clock.now())
    await demo.settle()
    bodies = {}
    for fmt in ("md", "html", "json"):
        stored = await demo.bk.reports.stored(1, fmt)
        if stored is not None:
            bodies[f"incident-1-report-v{stored.version}.{fmt}"] = stored.body
    demo.transcript.say("")
    for path in _write(folder, bodies):
        demo.transcript.say(f"The incident report is in {path}")
    name = demo.slack.channels[bridge].name
    demo.transcript.say(f"Done. The incident's bridge channel was #{name}.")


def _write(folder: Path, files: dict[str, str]) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in files.items():
        (folder / name).write_text(body, encoding="utf-8")
    return [folder / name for name in files]


def _close_form() -> dict[str, dict[str, Any]]:
    def text(value: str) -> dict[str, Any]:
        return {"value": {"type": "plain_text_input", "value": value}}

    return {
        "summary": text(
            "A password-sprayed service account without MFA was used to read "
            "customer records; the account is disabled and its sessions revoked."
        ),
        "root_cause": text("A service account exempt from MFA, with a weak password."),
        "went_well": text("The alert reached the bridge within ten minutes."),
        "to_improve": text("No account may be exempt from MFA."),
        "disposition": {
            "value": {"type": "static_select", "selected_option": {"value": "resolved"}}
        },
        "follow_up_1_owner": {"value": {"type": "users_select", "selected_user": "U0BOB"}},
        "follow_up_1_text": text("Review every MFA exemption"),
    }
