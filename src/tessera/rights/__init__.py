"""Usage rights: licences, platform authorisations and the one check every exit asks."""
