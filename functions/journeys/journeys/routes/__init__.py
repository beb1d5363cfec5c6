"""HTTP routes: the staff API (funnels, lift, a customer's journeys) and the survey links."""
