"""Widgets that present the studio's state and forward user intent to the controller."""
