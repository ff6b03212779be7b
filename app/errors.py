"""Errors as JSON: `{"error": {"code": ..., "message": ...}}`, with the right status, never a stack trace."""

from __future__ import annotations

import redis
from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from finder.redis_server import RedisUnavailable


class ApiError(Exception):
    """A request we cannot serve, with the status and a message for the client."""

    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def error_response(status: int, code: str, message: str):
    return jsonify({"error": {"code": code, "message": message}}), status


def register(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(error: ApiError):
        return error_response(error.status, error.code, error.message)

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(error: RequestEntityTooLarge):
        limit_mb = app.extensions["finder"].settings.max_upload_mb
        return error_response(413, "payload_too_large", f"the request is larger than {limit_mb:g} MB (MAX_UPLOAD_MB)")

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        code = (error.name or "error").lower().replace(" ", "_")
        return error_response(error.code or 500, code, error.description or error.name)

    @app.errorhandler(redis.ConnectionError)
    @app.errorhandler(redis.TimeoutError)
    @app.errorhandler(RedisUnavailable)
    def redis_down(error: Exception):
        app.logger.warning("Redis unavailable: %s", error)
        return error_response(503, "redis_unavailable", "the product database is unavailable; try again shortly")

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        app.logger.exception("unhandled error")
        return error_response(500, "internal_error", "an unexpected error occurred; it has been logged")
