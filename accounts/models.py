"""Users and groups are django.contrib.auth's. This module exists so that Django sends this app
a post_migrate signal (it only does so for apps with a models module), which syncs the roles."""
