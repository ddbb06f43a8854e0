"""Small building blocks with no domain words: ids, money, time, errors, pagination, logging."""
