-- int_feedback_attributes: the attributes a figure's items are sliced by when looking for its root
-- cause (marts.growth_point_causes_monthly, `otklik explain --causes`), one place for all of them:
-- the channel's and the store's names, the store's region, the customer's segment, and the browser, operating system
-- and app version parsed from the item's user agent (device). An attribute the item does not carry
-- is null. Grain: feedback_id (every row of core.fct_feedback).

with

feedback as (
    select * from core.fct_feedback
),

channels as (
    select * from core.dim_channels
),

stores as (
    select * from core.dim_stores
),

final as (
    select
        feedback.feedback_id,
        channels.display_name as channel,
        stores.store_name as store,
        stores.region,
        feedback.segment,
        case
            when feedback.device is null then null
            when regexp_matches(feedback.device, '^InstrumentMarket/') then 'приложение'
            when
                regexp_matches(feedback.device, 'YaBrowser/')
                then 'Яндекс Браузер ' || regexp_extract(feedback.device, 'YaBrowser/(\d+)', 1)
            when regexp_matches(feedback.device, 'Edg/') then 'Edge ' || regexp_extract(feedback.device, 'Edg/(\d+)', 1)
            when regexp_matches(feedback.device, 'Trident/7') then 'Internet Explorer 11'
            when
                regexp_matches(feedback.device, 'MSIE \d+')
                then 'Internet Explorer ' || regexp_extract(feedback.device, 'MSIE (\d+)', 1)
            when
                regexp_matches(feedback.device, 'Firefox/')
                then 'Firefox ' || regexp_extract(feedback.device, 'Firefox/(\d+)', 1)
            when
                regexp_matches(feedback.device, 'Chrome/')
                then 'Chrome ' || regexp_extract(feedback.device, 'Chrome/(\d+)', 1)
            when
                regexp_matches(feedback.device, 'Version/[\d.]+.*Safari/')
                then 'Safari ' || regexp_extract(feedback.device, 'Version/(\d+)', 1)
            else 'другой'
        end as browser,
        case
            when feedback.device is null then null
            when regexp_matches(feedback.device, 'Windows NT 10') then 'Windows 10/11'
            when regexp_matches(feedback.device, 'Windows NT 6\.3') then 'Windows 8.1'
            when regexp_matches(feedback.device, 'Windows NT 6\.1') then 'Windows 7'
            when
                regexp_matches(feedback.device, 'Android')
                then 'Android ' || regexp_extract(feedback.device, 'Android (\d+)', 1)
            when
                regexp_matches(feedback.device, 'iPhone OS|iOS')
                then 'iOS ' || regexp_extract(feedback.device, '(?:iPhone OS|iOS) (\d+)', 1)
            when regexp_matches(feedback.device, 'Mac OS X') then 'macOS'
            when regexp_matches(feedback.device, 'Linux') then 'Linux'
            else 'другая'
        end as os,
        case
            when regexp_matches(feedback.device, '^InstrumentMarket/')
                then 'приложение ' || regexp_extract(feedback.device, '^InstrumentMarket/(\d+\.\d+)', 1)
        end as app_version
    from feedback
    left join channels
        on feedback.channel_id = channels.channel_id
    left join stores
        on feedback.store_id = stores.store_id
)

select * from final
