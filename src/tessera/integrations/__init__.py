"""Third parties' wire formats and clients: payload shapes and protocol details, no business rules.

Connectors in ``tessera.connector`` turn these shapes into canonical orders.
"""
