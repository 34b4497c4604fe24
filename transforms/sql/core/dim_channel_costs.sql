-- dim_channel_costs: what each channel costs per month, effective-dated, for cost per contact.
-- Grain: (channel_id, valid_from). Source: transforms/costs/channel_costs.yaml. An entry is in force from
-- valid_from (the first of a month) until the channel's next entry (valid_to, exclusive; null = open).
-- A channel without an entry has no cost: its cost per contact is null, not 0.

with

channel_costs as (
    select * from staging.stg_config__channel_costs
),

final as (
    select
        channel_id,
        valid_from,
        valid_to,
        monthly_cost_rub
    from channel_costs
)

select * from final
