"""Joining and leaving workspaces: invitations, role changes, removal, password reset links and
the workspace a user lands on (``service.MembershipService``)."""
