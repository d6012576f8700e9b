"""rx_mana: advanced, optional operators over rx_honeybee."""
