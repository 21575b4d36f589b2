"""Watch a portfolio: positions (money included), the summary and the risk figures.

    python examples/portfolio_monitor.py                        # emulator portfolio D39004
    python examples/portfolio_monitor.py --live --portfolio D12345

Positions are an event stream: every position first (``existing=True``), then each change, and
nothing is ever dropped silently (a lost stretch is reported to ``on_gap`` and a fresh snapshot
follows). Summaries and risks are full states: a slow callback just gets the newest one.
"""

from __future__ import annotations

from _common import connect, duration_of, first_portfolio, parser, run_for, say

from alor_sync import GapNotice, Position, Risk, Summary


def on_position(position: Position) -> None:
    kind = "money" if position.is_currency else "position"
    say(
        f"{kind:<8} {position.symbol:<6} qty {position.quantity} (units {position.quantity_units})"
        f"  avg {position.avg_price}  unrealised P&L {position.unrealised_pl}"
    )


def on_summary(summary: Summary) -> None:
    say(
        f"summary  buying power {summary.buying_power}  evaluation {summary.portfolio_evaluation}"
        f"  profit {summary.profit} ({summary.profit_rate}%)"
    )


def on_risk(risk: Risk) -> None:
    say(
        f"risk     status {risk.risk_status}  initial margin {risk.initial_margin}"
        f"  minimal margin {risk.minimal_margin}"
    )


def on_gap(notice: GapNotice) -> None:
    # Runs in order with the stream's own frames: rebuild whatever you aggregated from it.
    say(f"gap in {notice.opcode}: {notice.reason.value}, a fresh snapshot follows")


def main() -> None:
    p = parser("Watch positions, summary and risks of a portfolio.")
    p.add_argument("--portfolio", help="default: the first portfolio of your token")
    p.add_argument("--exchange", default="MOEX")
    args = p.parse_args()
    with connect(args, on_gap=on_gap) as (client, _emulator):
        portfolio = args.portfolio or first_portfolio(client)
        say(f"portfolio {portfolio} on {args.exchange}")
        subscriptions = [
            client.subscribe_positions(portfolio, on_position, exchange=args.exchange),
            client.subscribe_summaries(portfolio, on_summary, exchange=args.exchange),
            client.subscribe_risks(portfolio, on_risk, exchange=args.exchange),
        ]
        for subscription in subscriptions:
            subscription.wait_active(timeout=10)
        run_for(duration_of(args))


if __name__ == "__main__":
    main()
