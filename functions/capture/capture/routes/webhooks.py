"""Channel webhooks (WhatsApp, Messenger, Instagram, Twilio SMS and voice, POS). Being written."""

from aws_lambda_powertools.event_handler.api_gateway import Router

router = Router()
