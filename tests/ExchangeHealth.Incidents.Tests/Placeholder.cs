namespace ExchangeHealth.Incidents.Tests;
