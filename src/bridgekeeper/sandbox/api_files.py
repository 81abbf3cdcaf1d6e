"""files.getUploadURLExternal, the raw upload step, files.completeUploadExternal."""

from __future__ import annotations

import mimetypes
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from bridgekeeper.sandbox.api_chat import post_target
from bridgekeeper.sandbox.state import ApiError, Channel, File, JsonDict, Message, Workspace
from bridgekeeper.sandbox.wire import Args

SNIPPET_MAX_BYTES = 1_000_000
CHANNELS_MAX = 100


def get_upload_url(ws: Workspace, args: Args) -> JsonDict:
    filename = args.required("filename")
    length = args.number("length", 0)
    if length <= 0:
        raise ApiError("invalid_arguments", "[ERROR] missing required field: length")
    if args.has("snippet_type") and length > SNIPPET_MAX_BYTES:
        raise ApiError("snippet_too_large")
    file = File(id=ws.new_id("F"), filename=filename, title=filename, content=b"", length=length)
    ws.pending_files[file.id] = file
    return {"ok": True, "upload_url": f"{ws.base_url}/upload/v1/{file.id}", "file_id": file.id}


def receive_upload(ws: Workspace, file_id: str, data: bytes) -> bool:
    """The POST of raw bytes to an upload_url. False if the URL is unknown. The file is the
    `length` bytes files.getUploadURLExternal was told: any past them are dropped (a length
    counted in characters cuts a non-ASCII text short)."""
    file = ws.pending_files.get(file_id)
    if file is None:
        return False
    file.content = data[: file.length]
    return True


def complete_upload(ws: Workspace, args: Args) -> JsonDict:
    entries = _file_entries(args)
    files = [_pending(ws, entry) for entry in entries]
    channels = [post_target(ws, ref) for ref in _channel_refs(args)]
    comment = args.text("initial_comment") or None
    for file, entry in zip(files, entries, strict=True):
        file.title = str(entry.get("title") or file.filename)
        file.channels = [channel.id for channel in channels]
        file.initial_comment = comment
        file.completed = True
        del ws.pending_files[file.id]
        ws.files.append(file)
    for channel in channels:
        _share(ws, channel, files, comment, args.text("thread_ts") or None)
    return {"ok": True, "files": [file_json(ws, file) for file in files]}


def _file_entries(args: Args) -> list[JsonDict]:
    entries: Any = args.json_value("files")
    if not isinstance(entries, list) or not entries:
        raise ApiError("invalid_arguments", "[ERROR] missing required field: files")
    if not all(isinstance(entry, dict) and entry.get("id") for entry in entries):
        raise ApiError("invalid_arguments", "[ERROR] each file needs an id")
    return entries


def _pending(ws: Workspace, entry: JsonDict) -> File:
    file = ws.pending_files.get(str(entry["id"]))
    if file is None:
        raise ApiError("file_not_found")
    return file


def _channel_refs(args: Args) -> list[str]:
    refs = [args.text("channel_id")] if args.has("channel_id") else args.items("channels")
    if len(refs) > CHANNELS_MAX:
        raise ApiError("channels_limit_exceeded")
    return refs


def _share(
    ws: Workspace, channel: Channel, files: list[File], comment: str | None, thread_ts: str | None
) -> None:
    message = Message(
        ts=ws.new_ts(),
        user=ws.bot_user_id,
        text=comment or "",
        channel=channel.id,
        thread_ts=thread_ts,
        files=[file_json(ws, file) for file in files],
        bot_id=ws.bot_id,
    )
    channel.messages.append(message)


def file_json(ws: Workspace, file: File) -> JsonDict:
    mimetype = mimetypes.guess_type(file.filename)[0] or "application/octet-stream"
    return {
        "id": file.id,
        "created": ws.now(),
        "timestamp": ws.now(),
        "name": file.filename,
        "title": file.title,
        "mimetype": mimetype,
        "filetype": file.filename.rpartition(".")[2] if "." in file.filename else "binary",
        "user": ws.bot_user_id,
        "size": len(file.content),
        "is_external": False,
        "is_public": True,
        "url_private": f"https://files.slack.com/files-pri/{ws.team_id}-{file.id}/{file.filename}",
        "url_private_download": download_url(ws, file),
        "permalink": f"https://{ws.team_domain}.slack.com/files/{ws.bot_user_id}/{file.id}",
        "channels": list(file.channels),
        "initial_comment": file.initial_comment,
    }


def download_url(ws: Workspace, file: File) -> str:
    """Where the file's bytes are served, to a bearer of the bot token (Slack's is on
    files.slack.com; the emulator serves it at its own address)."""
    return f"{ws.base_url}/files-pri/{ws.team_id}-{file.id}/download/{quote(file.filename)}"


def share_user_file(
    ws: Workspace, channel: Channel, user: str, filename: str, content: bytes
) -> Message:
    """A person shares a file in a channel: the file is stored and a message carries it."""
    file = File(
        id=ws.new_id("F"),
        filename=filename,
        title=filename,
        content=content,
        channels=[channel.id],
        length=len(content),
        completed=True,
    )
    ws.files.append(file)
    shared = file_json(ws, file) | {"user": user}
    message = Message(ts=ws.new_ts(), user=user, text="", channel=channel.id, files=[shared])
    channel.messages.append(message)
    return message


def downloaded(ws: Workspace, team_file: str) -> File | None:
    """The file a `/files-pri/<team>-<file id>/download/...` URL names."""
    return next((f for f in ws.files if f"{ws.team_id}-{f.id}" == team_file), None)


METHODS: dict[str, Callable[[Workspace, Args], JsonDict]] = {
    "files.getUploadURLExternal": get_upload_url,
    "files.completeUploadExternal": complete_upload,
}
