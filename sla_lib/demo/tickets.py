"""Deterministic demo exports: ticket registers (报修/工单登记) for contract year 1 and the first
months of contract year 2.

``write_demo`` writes what a hospital would hand the analyst: one export per calendar quarter in
the default Chinese ticket template of ``data-contract.md``, each in a different file format and
date spelling, as real hospital exports are (the styles repeat from the fifth quarter on):

====  ===========================  ===============================================================
 #    file                         format
====  ===========================  ===============================================================
 1    工单登记_<yyyy>Q<q>.xlsx       datetime cells (number format ``yyyy-mm-dd hh:mm``)
 2    工单登记_<yyyy>Q<q>.csv        GBK, Excel style (CRLF), ``2025/10/5 8:07``; missing cells are
                                   blank, ``-`` or ``无``; the first such file holds the
                                   deliberately bad rows
 3    工单登记_<yyyy>Q<q>.csv        UTF-8 with BOM (CRLF), ``2026-01-05 08:07:00``
 4    工单登记_<yyyy>Q<q>.xlsx       some rows text ``2026年4月5日 8:07``, the others datetime cells
====  ===========================  ===============================================================

The span is :func:`demo_span`: :data:`DEMO_MONTHS` (16) months from the signing date, so with a
contract year starting 2025-07-01 the files are 2025Q3 … 2026Q2 (contract year 1, complete) and
2026Q3, 2026Q4 (contract year 2, running: October only). ``months=12`` gives exactly the one-year
demo of earlier versions, byte for byte. In year 2 the vendor answers faster by day, no faster
at night, and arrives on site late more often (same random draws, other probabilities), so the
review's comparison of the two years shows something. Everything comes from
``numpy.random.default_rng(seed)`` and the contract file: the same seed and span give
byte-identical files (the xlsx zip entries and document properties carry the fixed export
instant, never the wall clock).

The data are realistic on purpose, including what a measurement must cope with: night, weekend
and holiday tickets, ~3 % response breaches, slow resolutions around weekends and holidays,
plans that stop the resolution clock, late on-site arrivals, on-site tickets with no arrival,
exclusions set by the hospital, open tickets at the end of the span, contradicting timestamps,
rejected rows, and fake patient identifiers planted in ~3 % of the descriptions
(``planted_identifiers`` lists them, so masking can be tested against the truth).

The export instant is :data:`EXPORT_DELAY` after the end of the span: a timestamp that would
fall after it is left blank and the ticket stays open (状态 处理中), so the files never claim to
know the future. ``as_of`` of a load of these files is therefore at most that instant.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import chinese_calendar
import numpy as np
import pandas as pd

from sla_lib.rules.contract import Contract, add_months

# Default Chinese template (data-contract.md, "tickets"): canonical name -> header, in order.
HEADERS: dict[str, str] = {
    "ticket_id": "工单号",
    "reported_at": "报修时间",
    "channel": "报修方式",
    "department": "报修科室",
    "reporter": "报修人",
    "system_raw": "系统名称",
    "category": "问题类型",
    "severity": "紧急程度",
    "description": "问题描述",
    "responded_at": "响应时间",
    "plan_at": "方案提供时间",
    "resolved_at": "解决时间",
    "onsite": "是否现场",
    "onsite_requested_at": "现场通知时间",
    "arrived_at": "到场时间",
    "fixed_at": "现场排除时间",
    "engineer": "处理人",
    "status": "状态",
    "exclusion": "排除原因",
}
TIME_COLUMNS = ("reported_at", "responded_at", "plan_at", "resolved_at", "onsite_requested_at", "arrived_at",
                "fixed_at")

TARGET_TICKETS_PER_YEAR = 6000
EXPORT_DELAY = dt.timedelta(days=2, hours=16)  # export instant = end of the demo span + this
DEMO_MONTHS = 16  # contract year 1 and the first four months of year 2 (a partial second year)
FILE_STYLES = ("xlsx_datetime", "csv_gbk", "csv_utf8_bom", "xlsx_mixed")

# -- vocabularies (demo content) ------------------------------------------------------------------
CHANNELS = ("电话", "微信", "QQ", "邮件", "现场", "系统")
CHANNEL_P = (0.44, 0.26, 0.08, 0.04, 0.10, 0.08)
CATEGORIES = ("故障", "咨询", "数据纠错", "安装", "培训", "改造需求", "重点保障", "其他")
CATEGORY_P = (0.42, 0.21, 0.15, 0.05, 0.03, 0.04, 0.02, 0.08)
SEVERITIES = ("一般", "紧急", "重大")
SEVERITY_P = (0.85, 0.12, 0.03)
DEPARTMENTS = (
    ("门诊部", 9), ("精神科一病区", 5), ("精神科二病区", 5), ("精神科三病区", 5), ("精神科四病区", 5),
    ("精神科五病区", 4), ("精神科六病区", 4), ("精神科七病区", 4), ("精神科八病区", 4), ("心理科", 5),
    ("睡眠医学科", 3), ("儿童青少年心理科", 3), ("老年精神科", 3), ("药剂科", 7), ("检验科", 6),
    ("医学影像科", 3), ("医务科", 3), ("财务科", 4), ("收费处", 8), ("住院处", 6), ("信息科", 3),
    ("护理部", 3), ("医保办", 4), ("病案室", 3), ("设备科", 1), ("院办", 1),
)
# Modules per system code, to write descriptions; unknown codes use the generic list.
MODULES: dict[str, tuple[str, ...]] = {
    "HIS": ("门诊医生站", "住院医生站", "住院护士站", "门诊收费", "挂号", "门诊药房发药", "住院药房摆药",
            "医保结算", "入院登记", "出院结算", "药库管理", "医生排班", "预交金管理", "发票打印"),
    "EMR": ("病历书写", "病程记录", "病历打印", "病历归档", "病历模板", "电子签名", "护理文书"),
    "LIS": ("检验申请", "条码打印", "仪器接口", "报告审核", "检验报告打印", "标本签收"),
    "PASS": ("处方审核", "用药提醒", "药品说明书查询", "审方规则"),
    "CP": ("路径入径", "路径变异登记", "路径表单", "路径统计"),
    "FOLLOWUP": ("随访计划", "随访记录", "短信随访", "随访统计"),
    "AE": ("事件上报", "事件审核", "上报表单", "统计报表"),
    "CRITICAL": ("危急值提醒", "危急值确认", "危急值推送", "危急值统计"),
}
GENERIC_MODULES = ("登录", "打印", "查询", "统计报表")
TEMPLATES: dict[str, tuple[str, ...]] = {
    "故障": ("{m}无法打开，提示“连接超时”", "{m}打印时报错，打印机无响应", "{m}界面卡顿，保存失败",
             "{m}登录后白屏", "{m}提示“数据库连接失败”", "{m}数据不显示，刷新无效", "点击{m}后程序闪退",
             "{m}保存时提示\"对象引用未设置到对象的实例\"", "{s}在本科室电脑上打不开，其他电脑正常",
             "{m}操作中报错，无法继续", "{m}查询很慢，等待超过一分钟"),
    "咨询": ("咨询{m}的操作方法", "咨询{m}中如何查询历史记录", "询问{m}权限如何申请",
             "咨询{s}中{m}的统计口径", "咨询{m}导出Excel的方法"),
    "数据纠错": ("{m}中数据录入错误，需要修改", "{m}费用录错需冲销", "{m}中患者信息登记错误需更正",
                 "{m}重复生成记录，需删除一条", "{m}中医嘱停止时间填错，申请修改"),
    "安装": ("新电脑需安装{s}客户端", "{m}打印机驱动安装", "科室新增电脑安装{m}", "{s}客户端重装"),
    "培训": ("新入职人员{m}操作培训", "{m}新功能培训", "科室申请{s}使用培训"),
    "改造需求": ("申请调整{m}流程", "结账方式调整", "医保接口开发调整", "{m}新增统计报表", "{m}增加录入字段",
                 "{m}打印格式调整"),
    "重点保障": ("医保年度结算保障", "系统升级期间值守保障", "等级评审检查期间{s}保障", "{m}上线保障"),
    "其他": ("{m}账号解锁", "重置{s}密码", "{m}权限开通", "{s}工号停用"),
}
DECOYS = ("（发票号{n7}）", "，IP 192.168.{a}.{b}", "，分机{n4}", "，医嘱号{n7}", "，处方号CF{n6}")
EXCLUSIONS = ("不可抗力", "第三方接口", "院方原因")
EXCLUSION_P = (0.3, 0.5, 0.2)
EXCLUSION_NOTES = {
    "不可抗力": ("（全院停电）", "（机房网络中断）", "（服务器硬件故障）"),
    "第三方接口": ("（医保中心接口异常）", "（银行支付接口超时）", "（区域平台接口故障）"),
    "院方原因": ("（科室电脑未开机）", "（院方网络改造）", "（院方暂缓处理）"),
}
RESIDENT_ENGINEERS = ("李工", "王工")
REMOTE_ENGINEERS = ("张工", "赵工", "陈工", "周工")

SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏"
            "魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯史陶贺顾毛郝龚邵万钱严"
            "武戴孔向汤")
STAFF_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玲红琳婷雪倩鹏辉宁欣悦晨浩宇博萌瑶蕾颖佳"
PATIENT_GIVEN = "晓梅建国志文海春燕慧丹蓉莉微荣彬斌凯健亮秋菊兰凤云玉珍翠桃淑松柏永福贵德胜利卫东霖阳学成"
ID_REGIONS = ("610102", "610103", "610104", "610111", "610112", "610113", "610114", "610115", "610116",
              "610117", "610118", "610122", "610124", "610302", "610402", "610502", "610602", "610702")
MOBILE_PREFIXES = ("130", "131", "132", "133", "135", "136", "137", "138", "139", "147", "150", "151", "152",
                   "153", "155", "156", "157", "158", "159", "166", "173", "176", "177", "178", "180", "181",
                   "182", "183", "185", "186", "187", "188", "189", "191", "195", "198", "199")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


# -- the working calendar as arrays (minutes since the Unix epoch) --------------------------------
class _Calendar:
    """Working days and working periods over a date range, for vectorised look-ups."""

    def __init__(self, contract: Contract, first: dt.date, last: dt.date):
        self.first = first
        n = (last - first).days + 1
        self.dates = [first + dt.timedelta(days=i) for i in range(n)]
        self.working = np.array([self._is_working(contract, d) for d in self.dates])
        self.holiday = np.array([not w and _holiday_name(d) is not None for d, w in zip(self.dates, self.working,
                                                                                       strict=True)])
        day0 = _day_number(first)
        self.day_numbers = np.arange(day0, day0 + n, dtype=np.int64)
        self.working_day_numbers = self.day_numbers[self.working]
        starts, ends = [], []
        for d, w, dn in zip(self.dates, self.working, self.day_numbers, strict=True):
            if not w:
                continue
            mmdd = d.strftime("%m-%d")
            season = next(s for s in contract.seasons if s.covers(mmdd))
            for a, b in season.periods:
                starts.append(dn * 1440 + a // 60)
                ends.append(dn * 1440 + b // 60)
        self.starts = np.array(starts, dtype=np.int64)
        self.ends = np.array(ends, dtype=np.int64)

    @staticmethod
    def _is_working(contract: Contract, d: dt.date) -> bool:
        if d in contract.extra_non_working_days:
            return False
        if d in contract.extra_working_days:
            return True
        try:
            return bool(chinese_calendar.is_workday(d))
        except NotImplementedError:  # a year the package does not cover: Monday-Friday
            return d.weekday() < 5

    def index(self, day_numbers: np.ndarray) -> np.ndarray:
        return day_numbers - self.day_numbers[0]

    def in_hours(self, t: np.ndarray) -> np.ndarray:
        i = np.searchsorted(self.ends, t, side="right")
        return self.starts[np.minimum(i, len(self.starts) - 1)] <= t

    def next_instant(self, t: np.ndarray) -> np.ndarray:
        """The instant itself when inside working hours, else the next start of a working period."""
        i = np.searchsorted(self.ends, t, side="right")
        return np.maximum(t, self.starts[i])

    def working_day_after(self, day_numbers: np.ndarray, k: np.ndarray | int) -> np.ndarray:
        """The k-th working day after each day (k >= 1)."""
        i = np.searchsorted(self.working_day_numbers, day_numbers, side="right")
        return self.working_day_numbers[i + np.asarray(k) - 1]


def _holiday_name(d: dt.date) -> str | None:
    try:
        return chinese_calendar.get_holiday_detail(d)[1]
    except NotImplementedError:
        return None


def demo_span(contract: Contract, months: int | None = None) -> tuple[dt.date, dt.date, dt.datetime]:
    """(first day, end day exclusive, export instant) of the demo history: ``months`` months from
    the signing date (default :data:`DEMO_MONTHS`); the exports are made :data:`EXPORT_DELAY` after
    the end. Every demo writer (tickets, resident staff, inspections, costs) covers this span."""
    months = DEMO_MONTHS if months is None else int(months)
    if months < 1:
        raise ValueError(f"demo months must be at least 1, got {months}")
    start = contract.signing_date
    end = add_months(start, months)
    return start, end, dt.datetime.combine(end, dt.time()) + EXPORT_DELAY


def _day_number(d: dt.date) -> int:
    return (d - dt.date(1970, 1, 1)).days


def _to_datetime(minutes: int) -> dt.datetime:
    return dt.datetime(1970, 1, 1) + dt.timedelta(minutes=int(minutes))


# -- generation ------------------------------------------------------------------------------------
@dataclass
class Demo:
    """Everything ``write_demo`` writes, before formatting."""

    tickets: pd.DataFrame  # valid rows (canonical column names of the tickets table), by report time
    planted: list[str]  # patient identifiers planted in descriptions, in ticket order, unique
    bad_rows: list[dict[str, Any]]  # rows the loader must reject; '_after' = ticket_id they follow
    contradictions: dict[str, str]  # ticket_id -> which timestamps contradict (valid rows)
    export_at: dt.datetime
    files: list[tuple[str, str, pd.DataFrame]] = field(default_factory=list)  # (file name, style, rows)


def generate_tickets(contract: Contract, seed: int = 7, months: int | None = None) -> pd.DataFrame:
    """The valid tickets ``write_demo`` writes for this seed (no file is written)."""
    return generate_demo(contract, seed, months).tickets


def planted_identifiers(contract: Contract, seed: int = 7, months: int | None = None) -> list[str]:
    """The exact identifier strings (patient names, ID numbers, mobiles, 住院号) planted in the
    descriptions by ``write_demo(raw_dir, contract, seed, months)``, recomputed without writing files."""
    return list(generate_demo(contract, seed, months).planted)


def generate_demo(contract: Contract, seed: int = 7, months: int | None = None) -> Demo:
    rng = np.random.default_rng(seed)
    start, end, export_at = demo_span(contract, months)  # end exclusive
    cal = _Calendar(contract, start - dt.timedelta(days=7), end + dt.timedelta(days=400))
    limit_resp = float(contract.clauses["response"]["limit_minutes"])
    limit_arrive = float(contract.clauses["onsite_arrival"]["limit_hours"]) * 60
    limit_fix = float(contract.clauses["onsite_fix"]["limit_hours"]) * 60

    # -- when: daily counts with a weekly and yearly rhythm, then hours of the day ---------------------
    n_days = (end - start).days
    di = np.arange(7, 7 + n_days)  # calendar indices of the contract year's days
    dates = [cal.dates[i] for i in di]
    kind = np.where(cal.working[di], 0, np.where(cal.holiday[di], 2, 1))  # 0 working, 1 rest day, 2 holiday
    month_factor = np.array([_MONTH_FACTOR[d.month] for d in dates])
    weekday_factor = np.array([_WEEKDAY_FACTOR[d.weekday()] for d in dates])
    lam = np.array([22.0, 5.0, 4.0])[kind] * month_factor * np.where(kind == 0, weekday_factor, 1.0)
    lam *= TARGET_TICKETS_PER_YEAR * n_days / 365.0 / lam.sum()
    counts = rng.poisson(lam)
    day_of = np.repeat(np.arange(n_days), counts)
    n = len(day_of)
    hour = np.empty(n, dtype=np.int64)
    for k, profile in enumerate(_HOUR_PROFILES):
        mask = kind[day_of] == k
        hour[mask] = rng.choice(24, size=int(mask.sum()), p=profile / profile.sum())
    minute = rng.integers(0, 60, n)
    reported = (cal.day_numbers[di][day_of] * 1440 + hour * 60 + minute).astype(np.int64)
    order = np.argsort(reported, kind="stable")
    reported = reported[order]
    day_of = day_of[order]
    # contract year 2 (when the span reaches it): the vendor answers faster by day, still slowly at
    # night, and arrives on site late more often; the same draws, other probabilities (so a span of
    # 12 months gives exactly the one-year demo)
    year2 = reported >= _day_number(add_months(start, contract.length_months)) * 1440

    # -- what, where, who ----------------------------------------------------------------------------
    codes = [s.code for s in contract.systems]
    resident_sys = np.array([s.service == "resident" for s in contract.systems])
    sys_w = np.where(resident_sys, 0.45 / max(resident_sys.sum(), 1),
                     np.array([_SYSTEM_WEIGHT.get(c, 0.06) for c in codes]))
    if resident_sys.any() and (~resident_sys).any():
        sys_w[~resident_sys] *= 0.55 / sys_w[~resident_sys].sum()
    sys_i = rng.choice(len(codes), size=n, p=sys_w / sys_w.sum())
    system_raw = np.empty(n, dtype=object)
    for j, s in enumerate(contract.systems):
        names = list(dict.fromkeys((*s.aliases, s.name))) if s.aliases else [s.name]
        w = 0.5 ** np.arange(len(names))
        mask = sys_i == j
        system_raw[mask] = np.array(names, dtype=object)[rng.choice(len(names), int(mask.sum()), p=w / w.sum())]
    is_resident_sys = resident_sys[sys_i]
    channel = np.array(CHANNELS, dtype=object)[rng.choice(len(CHANNELS), n, p=CHANNEL_P)]
    cat_i = rng.choice(len(CATEGORIES), n, p=CATEGORY_P)
    category = np.array(CATEGORIES, dtype=object)[cat_i]
    severity = np.array(SEVERITIES, dtype=object)[rng.choice(len(SEVERITIES), n, p=SEVERITY_P)]
    dept_w = np.array([w for _, w in DEPARTMENTS], dtype=float)
    dept_i = rng.choice(len(DEPARTMENTS), n, p=dept_w / dept_w.sum())
    department = np.array([d for d, _ in DEPARTMENTS], dtype=object)[dept_i]
    staff = _staff_names(rng, 6 * len(DEPARTMENTS))
    pick = rng.integers(0, 6, n)
    reporter = np.array(staff, dtype=object)[dept_i * 6 + pick]

    # -- response (24x7) -------------------------------------------------------------------------------
    in_hours_rep = cal.in_hours(reported)
    breach = rng.random(n) < np.where(in_hours_rep, np.where(year2, 0.012, 0.022), np.where(year2, 0.07, 0.06))
    normal = np.clip(np.round(1 + rng.gamma(2.0, 2.6, n)), 1, max(limit_resp - 2, 1))
    late = np.where(rng.random(n) < 0.7, limit_resp + 1 + np.floor(rng.exponential(15.0, n)),
                    np.round(rng.uniform(60, 360, n)))
    responded = reported + np.where(breach, late, normal).astype(np.int64)

    # -- resolution --------------------------------------------------------------------------------------
    s = cal.next_instant(responded)
    s_day = s // 1440
    quick = np.clip(np.round(rng.lognormal(np.log(35), 0.9, n)), 3, 360).astype(np.int64)
    resolved = responded + quick
    deferred = ~cal.in_hours(responded) & (rng.random(n) < 0.45)
    resolved = np.where(deferred, s + np.round(rng.uniform(10, 180, n)).astype(np.int64), resolved)
    rep_day = reported // 1440
    next_day_off = ~cal.working[cal.index(rep_day + 1)]
    risky = next_day_off & (reported % 1440 >= 15 * 60)
    slow = rng.random(n) < np.where(risky, 0.15, 0.02)
    k_days = rng.choice([1, 1, 1, 2, 3], n)
    slow_at = (cal.working_day_after(s_day, k_days) * 1440 + s % 1440
               + np.round(rng.uniform(30, 240, n)).astype(np.int64))
    resolved = np.where(slow, slow_at, resolved)
    plan = np.full(n, -1, dtype=np.int64)  # -1 = missing

    def days_later(base: np.ndarray, lo: float, hi: float) -> np.ndarray:
        """A working instant lo..hi days after base (moved into working hours, not onto 08:00 sharp)."""
        t = base + np.round(rng.uniform(lo, hi, n) * 1440).astype(np.int64)
        moved = cal.next_instant(t)
        return np.where(moved > t, moved + np.round(rng.uniform(5, 150, n)).astype(np.int64), t)

    gets_plan = ~slow & (rng.random(n) < np.where(np.isin(category, ["故障", "数据纠错"]), 0.08, 0.04))
    plan_at = responded + np.round(rng.uniform(15, 240, n)).astype(np.int64)
    plan = np.where(gets_plan, plan_at, plan)
    resolved = np.where(gets_plan, days_later(plan_at, 1, 10), resolved)
    # training: a date is agreed quickly (the plan), the session happens days later
    training = category == "培训"
    plan = np.where(training, responded + np.round(rng.uniform(10, 60, n)).astype(np.int64), plan)
    resolved = np.where(training, days_later(responded, 1, 5), resolved)
    # change requests (no clock): days or weeks, sometimes with a plan first
    change = category == "改造需求"
    plan = np.where(change, np.where(rng.random(n) < 0.3, days_later(responded, 0.5, 5), -1), plan)
    resolved = np.where(change, days_later(responded, 2, 30), resolved)

    # -- on site -----------------------------------------------------------------------------------------
    p_onsite = np.where(is_resident_sys, 0.045, 0.13) * np.where(np.isin(category, ["故障", "安装"]), 1.4, 0.6)
    onsite = (rng.random(n) < np.where(change | training, 0.0, p_onsite))
    requested = responded + np.round(rng.uniform(5, 90, n)).astype(np.int64)
    late_arrival = rng.random(n) < np.where(year2, 0.11, 0.06)
    arrive_min = np.where(late_arrival, rng.uniform(limit_arrive + 5, limit_arrive + 360, n),
                          np.clip(rng.lognormal(np.log(80), 0.5, n), 25, limit_arrive - 10))
    arrived = requested + np.round(arrive_min).astype(np.int64)
    slow_fix = rng.random(n) < np.where(year2, 0.03, 0.04)
    fix_min = np.where(slow_fix, rng.uniform(limit_fix + 10, limit_fix + 22 * 60, n),
                       np.clip(rng.lognormal(np.log(120), 0.7, n), 15, limit_fix - 10))
    fixed = arrived + np.round(fix_min).astype(np.int64)
    resolved = np.where(onsite, fixed + np.round(rng.uniform(0, 30, n)).astype(np.int64), resolved)
    plan = np.where(onsite, -1, plan)
    requested = np.where(onsite, requested, -1)
    fixed = np.where(onsite, fixed, -1)
    arrived = np.where(onsite, arrived, -1)
    no_arrival = rng.choice(np.flatnonzero(onsite & ~late_arrival), 2, replace=False)
    arrived[no_arrival] = -1

    # -- engineers -----------------------------------------------------------------------------------------
    residents = _resident_names(contract)
    p_res = np.where(is_resident_sys, np.where(in_hours_rep, 0.9, 0.35), 0.12)
    use_res = rng.random(n) < p_res
    res_pick = np.array(residents, dtype=object)[
        rng.choice(len(residents), n, p=_split(len(residents)))]
    rem_pick = np.array(REMOTE_ENGINEERS, dtype=object)[rng.choice(len(REMOTE_ENGINEERS), n)]
    engineer = np.where(use_res, res_pick, rem_pick)

    # -- exclusions set by the hospital (biased to tickets that went badly, as in practice) ----------------
    went_badly = breach | slow | (onsite & (late_arrival | slow_fix))
    w = np.where(went_badly, 8.0, 1.0)
    excl_i = rng.choice(n, int(round(0.01 * n)), replace=False, p=w / w.sum())
    excluded = np.zeros(n, dtype=bool)
    excluded[excl_i] = True
    exclusion = np.full(n, None, dtype=object)
    exclusion[excl_i] = np.array(EXCLUSIONS, dtype=object)[rng.choice(len(EXCLUSIONS), len(excl_i), p=EXCLUSION_P)]

    # -- open at the end of the year, and nothing after the export instant ---------------------------------
    year_end = _day_number(end) * 1440
    export_min = year_end + int(EXPORT_DELAY.total_seconds() // 60)
    cand = np.flatnonzero((reported >= year_end - 3 * 1440) & ~onsite & ~change & ~excluded)
    open_i = rng.choice(cand, min(5, len(cand)), replace=False)
    resolved[open_i] = -1
    plan[open_i] = -1
    times = {"reported_at": reported, "responded_at": responded, "plan_at": plan, "resolved_at": resolved,
             "onsite_requested_at": requested, "arrived_at": arrived, "fixed_at": fixed}
    for col in TIME_COLUMNS[1:]:
        times[col] = np.where(times[col] > export_min, -1, times[col])

    # -- status ---------------------------------------------------------------------------------------------
    is_open = times["resolved_at"] < 0
    closed = ~is_open & (times["resolved_at"] < export_min - 7 * 1440) & (rng.random(n) < 0.4)
    status = np.where(is_open, "处理中", np.where(closed, "已关闭", "已解决")).astype(object)

    # -- descriptions, with planted identifiers -------------------------------------------------------------
    plant = rng.random(n) < 0.03
    decoy = rng.random(n) < 0.03
    u = rng.integers(0, 1 << 30, (n, 4))
    planted: list[str] = []
    used_names = set(staff)
    description = np.empty(n, dtype=object)
    for i in range(n):
        text = _describe(codes[sys_i[i]], category[i], system_raw[i], u[i, 0], u[i, 1])
        if exclusion[i] is not None:
            notes = EXCLUSION_NOTES[exclusion[i]]
            text += notes[u[i, 2] % len(notes)]
        if decoy[i]:
            text += DECOYS[u[i, 3] % len(DECOYS)].format(
                n7=f"{u[i, 2] % 10**7:07d}", n6=f"{u[i, 1] % 10**6:06d}", n4=f"{8000 + u[i, 3] % 1000}",
                a=u[i, 0] % 20 + 1, b=u[i, 1] % 250 + 2)
        if plant[i]:
            text = _plant(rng, text, _to_datetime(reported[i]), used_names, planted)
        description[i] = text
    _ensure_id_with_x(rng, description, planted)

    # -- assemble ---------------------------------------------------------------------------------------------
    ids = _ticket_ids(reported)
    df = pd.DataFrame({
        "ticket_id": ids,
        "reported_at": _ts(times["reported_at"]),
        "channel": channel,
        "department": department,
        "reporter": reporter,
        "system": np.array(codes, dtype=object)[sys_i],
        "system_raw": system_raw,
        "category": category,
        "severity": severity,
        "description": description,
        "responded_at": _ts(times["responded_at"]),
        "plan_at": _ts(times["plan_at"]),
        "resolved_at": _ts(times["resolved_at"]),
        "onsite": onsite,
        "onsite_requested_at": _ts(times["onsite_requested_at"]),
        "arrived_at": _ts(times["arrived_at"]),
        "fixed_at": _ts(times["fixed_at"]),
        "engineer": engineer,
        "status": status,
        "exclusion": exclusion,
    })

    # -- files, contradictions and bad rows -------------------------------------------------------------------
    quarter = df["reported_at"].dt.year * 10 + df["reported_at"].dt.quarter
    files = []
    for j, q in enumerate(sorted(quarter.unique())):
        style = FILE_STYLES[j % len(FILE_STYLES)]
        ext = "xlsx" if style.startswith("xlsx") else "csv"
        files.append((f"工单登记_{q // 10}Q{q % 10}.{ext}", style, df.index[quarter == q]))
    gbk = next((idx for _, style, idx in files if style == "csv_gbk"), files[0][2])
    contradictions = _contradict(df, gbk, rng)
    bad_rows = _bad_rows(df, gbk, rng)
    demo = Demo(tickets=df, planted=planted, bad_rows=bad_rows, contradictions=contradictions,
                export_at=export_at)
    demo.files = [(name, style, df.loc[idx]) for name, style, idx in files]
    return demo


_MONTH_FACTOR = {7: 1.05, 8: 1.0, 9: 1.0, 10: 0.95, 11: 1.0, 12: 1.1, 1: 1.1, 2: 0.9, 3: 1.0, 4: 1.0, 5: 0.95,
                 6: 1.0}
_WEEKDAY_FACTOR = {0: 1.15, 1: 1.0, 2: 1.0, 3: 1.0, 4: 0.9, 5: 0.95, 6: 0.95}  # make-up weekend days ~ normal
_HOUR_PROFILES = (
    # working day: mid-morning and afternoon peaks, lunch dip, some evening and night
    np.array([0.3, 0.2, 0.15, 0.1, 0.1, 0.15, 0.3, 1.0, 5.0, 8.0, 9.0, 6.0, 1.5, 1.5, 5.0, 7.5, 7.0, 3.0, 1.0,
              0.8, 0.7, 0.6, 0.5, 0.4]),
    # weekend: wards still run, flatter daytime
    np.array([0.4, 0.3, 0.2, 0.15, 0.15, 0.2, 0.5, 1.0, 2.5, 3.5, 3.5, 2.5, 1.2, 1.2, 2.0, 2.5, 2.5, 1.8, 1.2,
              1.0, 0.9, 0.8, 0.6, 0.5]),
    # statutory holiday: like a weekend, a little quieter in the day
    np.array([0.4, 0.3, 0.2, 0.15, 0.15, 0.2, 0.5, 1.0, 2.0, 3.0, 3.0, 2.2, 1.2, 1.2, 1.8, 2.2, 2.2, 1.6, 1.2,
              1.0, 0.9, 0.8, 0.6, 0.5]),
)
_SYSTEM_WEIGHT = {"EMR": 0.15, "LIS": 0.13, "PASS": 0.07, "CP": 0.05, "FOLLOWUP": 0.04, "AE": 0.05,
                  "CRITICAL": 0.06}


def _describe(code: str, category: str, system_raw: str, a: int, b: int) -> str:
    mods = MODULES.get(code, GENERIC_MODULES)
    tpl = TEMPLATES[category]
    return tpl[a % len(tpl)].format(m=mods[b % len(mods)], s=system_raw)


def _split(k: int) -> np.ndarray:
    w = np.linspace(1.2, 0.8, k) if k > 1 else np.ones(1)
    return w / w.sum()


def _resident_names(contract: Contract) -> tuple[str, ...]:
    """Resident engineers: the roster's names when the contract file has them, else the defaults."""
    names = []
    for s in contract.roster.get("staff") or []:
        if isinstance(s, dict) and s.get("name"):
            names.append(str(s["name"]))
        elif isinstance(s, str):
            names.append(s)
    return tuple(dict.fromkeys(names)) or RESIDENT_ENGINEERS


def _staff_names(rng: np.random.Generator, k: int) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < k:
        name = SURNAMES[rng.integers(len(SURNAMES))] + "".join(
            STAFF_GIVEN[rng.integers(len(STAFF_GIVEN))] for _ in range(1 + int(rng.random() < 0.6)))
        if name not in seen:
            seen.add(name)
            out.append(name)
    return out


def _patient_name(rng: np.random.Generator, used: set[str]) -> str:
    while True:
        name = SURNAMES[rng.integers(len(SURNAMES))] + "".join(
            PATIENT_GIVEN[rng.integers(len(PATIENT_GIVEN))] for _ in range(1 + int(rng.random() < 0.65)))
        if name not in used:
            used.add(name)
            return name


def _id_number(rng: np.random.Generator) -> str:
    region = ID_REGIONS[rng.integers(len(ID_REGIONS))]
    birth = dt.date(1950, 1, 1) + dt.timedelta(days=int(rng.integers(0, 20454)))  # up to 2005-12-31
    body = f"{region}{birth:%Y%m%d}{int(rng.integers(1, 1000)):03d}"
    return body + _id_check(body)


def _id_check(body: str) -> str:
    return "10X98765432"[sum(int(c) * w for c, w in zip(body, _ID_WEIGHTS, strict=True)) % 11]


def _mobile(rng: np.random.Generator) -> str:
    return MOBILE_PREFIXES[rng.integers(len(MOBILE_PREFIXES))] + f"{int(rng.integers(0, 10**8)):08d}"


def _inpatient_no(rng: np.random.Generator, when: dt.datetime) -> tuple[str, str]:
    """(value, text): 'ZY' + yyyymm + 4 digits, or 8 digits yyyy + 4 digits (never a month, so the
    value cannot be read inside a ticket id GDyyyymmNNNN)."""
    if rng.random() < 0.5:
        v = f"ZY{when:%Y%m}{int(rng.integers(1000, 10000))}"
        return v, f"住院号：{v}"
    v = f"{when:%Y}{int(rng.integers(1300, 10000))}"
    return v, f"住院号:{v}"


def _plant(rng: np.random.Generator, text: str, when: dt.datetime, used: set[str], planted: list[str]) -> str:
    parts: list[str] = []
    kinds = [k for k in ("name", "id", "mobile", "inpatient") if rng.random() < _PLANT_P[k]] or ["name"]
    for k in kinds:
        for _ in range(20):  # unique values only
            if k == "name":
                v = _patient_name(rng, used)
                label = ("患者", "病人", "姓名：", "姓名:")[rng.integers(4)]
                t = label + v
            elif k == "id":
                v = _id_number(rng)
                t = ("身份证号", "身份证：", "身份证号码:")[rng.integers(3)] + v
            elif k == "mobile":
                v = _mobile(rng)
                t = ("联系电话", "手机", "家属电话：")[rng.integers(3)] + v
            else:
                v, t = _inpatient_no(rng, when)
            if v not in planted:
                break
        planted.append(v)
        parts.append(t)
    if parts[0].startswith(("患者", "病人")) and rng.random() < 0.25:  # name run into the text, as people write
        return parts[0] + text + ("，" + "，".join(parts[1:]) if parts[1:] else "")
    return text + "，" + "，".join(parts)


_PLANT_P = {"name": 0.8, "id": 0.35, "mobile": 0.4, "inpatient": 0.4}


def _ensure_id_with_x(rng: np.random.Generator, description: np.ndarray, planted: list[str]) -> None:
    """Make sure at least one planted ID number ends in X (about 1 in 11 do by chance): if none
    does, the first planted ID number is replaced by one that does."""
    ids = [v for v in planted if re.fullmatch(r"\d{17}[\dX]", v)]
    if not ids or any(v.endswith("X") for v in ids):
        return
    while True:
        v = _id_number(rng)
        if v.endswith("X") and v not in planted:
            break
    old = ids[0]
    planted[planted.index(old)] = v
    for i, text in enumerate(description):
        if old in text:
            description[i] = text.replace(old, v)


def _ticket_ids(reported: np.ndarray) -> list[str]:
    ids = []
    last, seq = "", 0
    for m in reported:
        ym = f"{_to_datetime(m):%Y%m}"
        seq = seq + 1 if ym == last else 1
        last = ym
        ids.append(f"GD{ym}{seq:04d}")
    return ids


def _ts(minutes: np.ndarray) -> pd.Series:
    m = np.asarray(minutes, dtype=np.int64)
    out = pd.Series((m * 60).astype("datetime64[s]")).astype("datetime64[ns]")
    out[m < 0] = pd.NaT
    return out


def _contradict(df: pd.DataFrame, idx: pd.Index, rng: np.random.Generator) -> dict[str, str]:
    """Three valid rows whose timestamps contradict each other (they load; their clocks are invalid)."""
    sub = df.loc[idx]
    plain = sub.index[~sub["onsite"] & sub["resolved_at"].notna() & sub["exclusion"].isna()]
    onsite = sub.index[sub["onsite"] & sub["arrived_at"].notna() & sub["exclusion"].isna()]
    a, c = rng.choice(plain, 2, replace=False)
    b = rng.choice(onsite)
    out = {}
    df.loc[a, "responded_at"] = df.loc[a, "reported_at"] - pd.Timedelta(minutes=12)
    out[df.loc[a, "ticket_id"]] = "响应时间 12 分钟早于报修时间"
    df.loc[b, "arrived_at"] = df.loc[b, "onsite_requested_at"] - pd.Timedelta(minutes=35)
    out[df.loc[b, "ticket_id"]] = "到场时间 35 分钟早于现场通知时间"
    df.loc[c, "resolved_at"] = df.loc[c, "reported_at"] - pd.Timedelta(days=1)
    out[df.loc[c, "ticket_id"]] = "解决时间早于报修时间一天（日期笔误）"
    return out


def _bad_rows(df: pd.DataFrame, idx: pd.Index, rng: np.random.Generator) -> list[dict[str, Any]]:
    """Five rows the loader must reject, each a copy of a real-looking ticket with one fault."""
    faults = [("ticket_id", ""), ("reported_at", "2025-13-45 25:00"), ("system_raw", "OA办公系统"),
              ("reported_at", ""), ("system_raw", "")]
    positions = [int(len(idx) * f) for f in (0.1, 0.3, 0.5, 0.7, 0.9)]
    rows = []
    for k, ((col, value), pos) in enumerate(zip(faults, positions, strict=True)):
        base = df.loc[idx[pos]].to_dict()
        donor = df.loc[idx[int(rng.integers(len(idx)))]]
        for c in ("department", "reporter", "channel"):
            base[c] = donor[c]
        # a fresh description: a rejected row's text must not carry a planted identifier twice
        base["description"] = _describe(base["system"], base["category"], base["system_raw"],
                                        int(rng.integers(1 << 30)), int(rng.integers(1 << 30)))
        base["ticket_id"] = f"GD{base['reported_at']:%Y%m}{9901 + k}"
        base[col] = value
        base["_after"] = df.loc[idx[pos], "ticket_id"]
        base["_fault"] = {"ticket_id": "工单号为空", "reported_at": "报修时间无法识别" if value else "报修时间为空",
                          "system_raw": "系统名称不在合同内" if value else "系统名称为空"}[col]
        rows.append(base)
    return rows


# -- writing ---------------------------------------------------------------------------------------------
def write_ticket_demo(raw_dir: Path, contract: Contract, seed: int = 7, months: int | None = None) -> list[Path]:
    """Write the demo's ticket registers into raw_dir (see :func:`sla_lib.demo.write.write_demo`)."""
    raw_dir = Path(raw_dir)
    raw_dir.mkdir(parents=True, exist_ok=True)
    demo = generate_demo(contract, seed, months)
    paths = []
    for j, (name, style, rows) in enumerate(demo.files):
        fmt_rng = np.random.default_rng([seed, j])  # cell spelling choices, independent of the data
        bad = demo.bad_rows if style == "csv_gbk" else []
        records = _records(rows, bad)
        path = raw_dir / name
        if style == "csv_gbk":
            data = _csv_bytes(records, _fmt_slash, "gbk", fmt_rng, missing=("", "", "", "-", "无"))
        elif style == "csv_utf8_bom":
            data = _csv_bytes(records, _fmt_iso, "utf-8-sig", fmt_rng, missing=("",))
        else:
            data = _xlsx_bytes(records, style, fmt_rng, demo.export_at)
        path.write_bytes(data)
        paths.append(path)
    return paths


def _records(rows: pd.DataFrame, bad: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    after: dict[str, list[dict[str, Any]]] = {}
    for b in bad:
        after.setdefault(b["_after"], []).append(b)
    for rec in rows.to_dict("records"):
        out.append(rec)
        out.extend(after.get(rec["ticket_id"], []))
    return out


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT


def _fmt_slash(t: dt.datetime) -> str:
    return f"{t.year}/{t.month}/{t.day} {t.hour}:{t.minute:02d}"


def _fmt_iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


def _fmt_cn(t: dt.datetime) -> str:
    return f"{t.year}年{t.month}月{t.day}日 {t.hour}:{t.minute:02d}"


def _cell_text(rec: dict[str, Any], col: str, fmt, missing: str) -> str:
    v = rec[col]
    if col == "onsite":
        return "是" if v else "否"
    if isinstance(v, str):
        return v
    if _missing(v):
        return missing
    if isinstance(v, pd.Timestamp | dt.datetime):
        return fmt(pd.Timestamp(v).to_pydatetime())
    return str(v)


def _csv_bytes(records, fmt, encoding: str, rng: np.random.Generator, missing: tuple[str, ...]) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(HEADERS.values())
    cols = list(HEADERS)
    picks = rng.integers(0, len(missing), (len(records), len(cols)))
    for r, rec in enumerate(records):
        w.writerow([_cell_text(rec, c, fmt, missing[picks[r, k]]) for k, c in enumerate(cols)])
    return buf.getvalue().encode(encoding)


def _xlsx_bytes(records, style: str, rng: np.random.Generator, export_at: dt.datetime) -> bytes:
    """The ticket system's Excel export (sla_lib.demo.xlsx: written directly, not cell by cell)."""
    from sla_lib.demo.xlsx import sheet_bytes

    rows, formats = [list(HEADERS.values())], [None]
    as_text = rng.random(len(records)) < (0.4 if style == "xlsx_mixed" else 0.0)
    number_format = "yyyy-mm-dd hh:mm" if style == "xlsx_datetime" else "yyyy/m/d h:mm"
    cols = list(HEADERS)
    for r, rec in enumerate(records):
        row = []
        for c in cols:
            v = rec[c]
            if c == "onsite":
                row.append("是" if v else "否")
            elif _missing(v) or v == "":
                row.append(None)
            elif isinstance(v, pd.Timestamp):
                row.append(_fmt_cn(v.to_pydatetime()) if as_text[r] else v.to_pydatetime())
            else:
                row.append(v)
        rows.append(row)
        formats.append(None if as_text[r] else [number_format] * len(cols))
    widths = (15, 17, 8, 16, 9, 14, 10, 8, 48, 17, 17, 17, 8, 17, 17, 17, 8, 8, 10)
    return sheet_bytes("工单登记", rows, formats, widths, creator="工单系统", when=export_at)
