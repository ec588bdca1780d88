"""Blueprints of the admin pages, one per page or group of pages."""
