"""Predictive customer lifetime value: BG/NBD purchase counts and Gamma-Gamma spend.

`fit` estimates the parameters by maximum likelihood (numpy and scipy, loaded only when a fit runs);
`scoring` turns them into per-customer predictions in pure Python, cheap enough for a stream consumer.
"""
