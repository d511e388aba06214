"""The demo company's geography: the cities its network serves, with their hubs, stations and gateways."""

from __future__ import annotations

from dataclasses import dataclass

from crm.labels import normalize_language


@dataclass(frozen=True)
class Bilingual:
    """A name or phrase in Chinese and English."""

    zh: str
    en: str

    def text(self, language: str | None) -> str:
        """The Chinese text for zh, English for anything else."""
        return self.zh if normalize_language(language) == "zh" else self.en


@dataclass(frozen=True)
class Place(Bilingual):
    """A hub (sorting centre) or station (pickup and delivery outlet) of the network."""

    kind: str = "hub"


@dataclass(frozen=True)
class City:
    """A city the network serves: names, province, dialling codes, hubs/stations and districts."""

    key: str
    zh: str
    en: str
    province_zh: str
    province_en: str
    region: str
    country: str
    dial_code: str
    area_code: str
    places: tuple[Place, ...]
    districts: tuple[Bilingual, ...]
    remote: bool = False

    @property
    def hub(self) -> Place:
        """The city's sorting hub (the first hub listed)."""
        return next((place for place in self.places if place.kind == "hub"), self.places[0])

    @property
    def stations(self) -> tuple[Place, ...]:
        """The city's delivery stations (the hub itself when the city has none)."""
        return tuple(place for place in self.places if place.kind == "station") or (self.hub,)

    @property
    def international(self) -> bool:
        """True outside mainland China (Hong Kong included: parcels clear customs)."""
        return self.country != "CN"

    def name(self, language: str | None) -> str:
        """The city's name in a language (Chinese for zh, English otherwise)."""
        return self.zh if normalize_language(language) == "zh" else self.en


def _city(
    key: str,
    names: tuple[str, str],
    province: tuple[str, str],
    region: str,
    area_code: str,
    hub: tuple[str, str],
    stations: tuple[tuple[str, str], ...],
    districts: tuple[tuple[str, str], ...],
    *,
    country: str = "CN",
    dial_code: str = "+86",
    remote: bool = False,
) -> City:
    """Build a City from compact tuples (keeps the table below readable)."""
    return City(
        key=key,
        zh=names[0],
        en=names[1],
        province_zh=province[0],
        province_en=province[1],
        region=region,
        country=country,
        dial_code=dial_code,
        area_code=area_code,
        places=(Place(*hub, kind="hub"), *(Place(*station, kind="station") for station in stations)),
        districts=tuple(Bilingual(*district) for district in districts),
        remote=remote,
    )


# Regions follow the usual Chinese grouping (华东, 华北, …); the demo uses them for distance bands.
CITIES: tuple[City, ...] = (
    _city(
        "shanghai",
        ("上海", "Shanghai"),
        ("上海市", "Shanghai"),
        "east",
        "21",
        ("上海浦东转运中心", "Shanghai Pudong Hub"),
        (("上海徐汇营业部", "Shanghai Xuhui Station"), ("上海静安营业部", "Shanghai Jing'an Station")),
        (
            ("浦东新区", "Pudong New Area"),
            ("徐汇区", "Xuhui District"),
            ("静安区", "Jing'an District"),
            ("闵行区", "Minhang District"),
        ),
    ),
    _city(
        "beijing",
        ("北京", "Beijing"),
        ("北京市", "Beijing"),
        "north",
        "10",
        ("北京顺义转运中心", "Beijing Shunyi Hub"),
        (("北京朝阳营业部", "Beijing Chaoyang Station"), ("北京海淀营业部", "Beijing Haidian Station")),
        (
            ("朝阳区", "Chaoyang District"),
            ("海淀区", "Haidian District"),
            ("东城区", "Dongcheng District"),
            ("丰台区", "Fengtai District"),
        ),
    ),
    _city(
        "tianjin",
        ("天津", "Tianjin"),
        ("天津市", "Tianjin"),
        "north",
        "22",
        ("天津武清转运中心", "Tianjin Wuqing Hub"),
        (("天津和平营业部", "Tianjin Heping Station"),),
        (("和平区", "Heping District"), ("南开区", "Nankai District"), ("河西区", "Hexi District")),
    ),
    _city(
        "shijiazhuang",
        ("石家庄", "Shijiazhuang"),
        ("河北省", "Hebei"),
        "north",
        "311",
        ("石家庄正定转运中心", "Shijiazhuang Zhengding Hub"),
        (("石家庄长安营业部", "Shijiazhuang Chang'an Station"),),
        (("长安区", "Chang'an District"), ("桥西区", "Qiaoxi District"), ("裕华区", "Yuhua District")),
    ),
    _city(
        "shenyang",
        ("沈阳", "Shenyang"),
        ("辽宁省", "Liaoning"),
        "northeast",
        "24",
        ("沈阳于洪转运中心", "Shenyang Yuhong Hub"),
        (("沈阳和平营业部", "Shenyang Heping Station"),),
        (("和平区", "Heping District"), ("沈河区", "Shenhe District"), ("浑南区", "Hunnan District")),
    ),
    _city(
        "harbin",
        ("哈尔滨", "Harbin"),
        ("黑龙江省", "Heilongjiang"),
        "northeast",
        "451",
        ("哈尔滨道里转运中心", "Harbin Daoli Hub"),
        (("哈尔滨南岗营业部", "Harbin Nangang Station"),),
        (("南岗区", "Nangang District"), ("道里区", "Daoli District"), ("香坊区", "Xiangfang District")),
    ),
    _city(
        "guangzhou",
        ("广州", "Guangzhou"),
        ("广东省", "Guangdong"),
        "south",
        "20",
        ("广州白云转运中心", "Guangzhou Baiyun Hub"),
        (("广州天河营业部", "Guangzhou Tianhe Station"), ("广州海珠营业部", "Guangzhou Haizhu Station")),
        (
            ("天河区", "Tianhe District"),
            ("越秀区", "Yuexiu District"),
            ("海珠区", "Haizhu District"),
            ("白云区", "Baiyun District"),
        ),
    ),
    _city(
        "shenzhen",
        ("深圳", "Shenzhen"),
        ("广东省", "Guangdong"),
        "south",
        "755",
        ("深圳宝安转运中心", "Shenzhen Bao'an Hub"),
        (("深圳南山营业部", "Shenzhen Nanshan Station"), ("深圳福田营业部", "Shenzhen Futian Station")),
        (
            ("南山区", "Nanshan District"),
            ("福田区", "Futian District"),
            ("宝安区", "Bao'an District"),
            ("龙岗区", "Longgang District"),
        ),
    ),
    _city(
        "dongguan",
        ("东莞", "Dongguan"),
        ("广东省", "Guangdong"),
        "south",
        "769",
        ("东莞虎门转运中心", "Dongguan Humen Hub"),
        (("东莞南城营业部", "Dongguan Nancheng Station"),),
        (
            ("南城街道", "Nancheng Subdistrict"),
            ("东城街道", "Dongcheng Subdistrict"),
            ("长安镇", "Chang'an Town"),
        ),
    ),
    _city(
        "hangzhou",
        ("杭州", "Hangzhou"),
        ("浙江省", "Zhejiang"),
        "east",
        "571",
        ("杭州萧山转运中心", "Hangzhou Xiaoshan Hub"),
        (("杭州西湖营业部", "Hangzhou Xihu Station"), ("杭州滨江营业部", "Hangzhou Binjiang Station")),
        (
            ("西湖区", "Xihu District"),
            ("滨江区", "Binjiang District"),
            ("余杭区", "Yuhang District"),
            ("拱墅区", "Gongshu District"),
        ),
    ),
    _city(
        "ningbo",
        ("宁波", "Ningbo"),
        ("浙江省", "Zhejiang"),
        "east",
        "574",
        ("宁波北仑转运中心", "Ningbo Beilun Hub"),
        (("宁波鄞州营业部", "Ningbo Yinzhou Station"),),
        (("鄞州区", "Yinzhou District"), ("海曙区", "Haishu District"), ("北仑区", "Beilun District")),
    ),
    _city(
        "yiwu",
        ("义乌", "Yiwu"),
        ("浙江省", "Zhejiang"),
        "east",
        "579",
        ("义乌转运中心", "Yiwu Hub"),
        (("义乌稠城营业部", "Yiwu Choucheng Station"),),
        (
            ("稠城街道", "Choucheng Subdistrict"),
            ("北苑街道", "Beiyuan Subdistrict"),
            ("福田街道", "Futian Subdistrict"),
        ),
    ),
    _city(
        "nanjing",
        ("南京", "Nanjing"),
        ("江苏省", "Jiangsu"),
        "east",
        "25",
        ("南京江宁转运中心", "Nanjing Jiangning Hub"),
        (("南京鼓楼营业部", "Nanjing Gulou Station"),),
        (("鼓楼区", "Gulou District"), ("玄武区", "Xuanwu District"), ("江宁区", "Jiangning District")),
    ),
    _city(
        "suzhou",
        ("苏州", "Suzhou"),
        ("江苏省", "Jiangsu"),
        "east",
        "512",
        ("苏州吴中转运中心", "Suzhou Wuzhong Hub"),
        (("苏州工业园区营业部", "Suzhou Industrial Park Station"),),
        (
            ("姑苏区", "Gusu District"),
            ("苏州工业园区", "Suzhou Industrial Park"),
            ("吴中区", "Wuzhong District"),
        ),
    ),
    _city(
        "hefei",
        ("合肥", "Hefei"),
        ("安徽省", "Anhui"),
        "east",
        "551",
        ("合肥肥西转运中心", "Hefei Feixi Hub"),
        (("合肥蜀山营业部", "Hefei Shushan Station"),),
        (("蜀山区", "Shushan District"), ("包河区", "Baohe District"), ("庐阳区", "Luyang District")),
    ),
    _city(
        "xiamen",
        ("厦门", "Xiamen"),
        ("福建省", "Fujian"),
        "east",
        "592",
        ("厦门集美转运中心", "Xiamen Jimei Hub"),
        (("厦门思明营业部", "Xiamen Siming Station"),),
        (("思明区", "Siming District"), ("湖里区", "Huli District"), ("集美区", "Jimei District")),
    ),
    _city(
        "fuzhou",
        ("福州", "Fuzhou"),
        ("福建省", "Fujian"),
        "east",
        "591",
        ("福州闽侯转运中心", "Fuzhou Minhou Hub"),
        (("福州鼓楼营业部", "Fuzhou Gulou Station"),),
        (("鼓楼区", "Gulou District"), ("台江区", "Taijiang District"), ("仓山区", "Cangshan District")),
    ),
    _city(
        "jinan",
        ("济南", "Jinan"),
        ("山东省", "Shandong"),
        "east",
        "531",
        ("济南历城转运中心", "Jinan Licheng Hub"),
        (("济南历下营业部", "Jinan Lixia Station"),),
        (("历下区", "Lixia District"), ("市中区", "Shizhong District"), ("槐荫区", "Huaiyin District")),
    ),
    _city(
        "qingdao",
        ("青岛", "Qingdao"),
        ("山东省", "Shandong"),
        "east",
        "532",
        ("青岛胶州转运中心", "Qingdao Jiaozhou Hub"),
        (("青岛市南营业部", "Qingdao Shinan Station"),),
        (("市南区", "Shinan District"), ("市北区", "Shibei District"), ("崂山区", "Laoshan District")),
    ),
    _city(
        "wuhan",
        ("武汉", "Wuhan"),
        ("湖北省", "Hubei"),
        "central",
        "27",
        ("武汉东西湖转运中心", "Wuhan Dongxihu Hub"),
        (("武汉江汉营业部", "Wuhan Jianghan Station"),),
        (("江汉区", "Jianghan District"), ("武昌区", "Wuchang District"), ("洪山区", "Hongshan District")),
    ),
    _city(
        "changsha",
        ("长沙", "Changsha"),
        ("湖南省", "Hunan"),
        "central",
        "731",
        ("长沙望城转运中心", "Changsha Wangcheng Hub"),
        (("长沙岳麓营业部", "Changsha Yuelu Station"),),
        (("岳麓区", "Yuelu District"), ("芙蓉区", "Furong District"), ("天心区", "Tianxin District")),
    ),
    _city(
        "zhengzhou",
        ("郑州", "Zhengzhou"),
        ("河南省", "Henan"),
        "central",
        "371",
        ("郑州航空港转运中心", "Zhengzhou Airport Hub"),
        (("郑州金水营业部", "Zhengzhou Jinshui Station"),),
        (("金水区", "Jinshui District"), ("二七区", "Erqi District"), ("中原区", "Zhongyuan District")),
    ),
    _city(
        "chengdu",
        ("成都", "Chengdu"),
        ("四川省", "Sichuan"),
        "southwest",
        "28",
        ("成都双流转运中心", "Chengdu Shuangliu Hub"),
        (("成都锦江营业部", "Chengdu Jinjiang Station"), ("成都高新营业部", "Chengdu Gaoxin Station")),
        (
            ("锦江区", "Jinjiang District"),
            ("武侯区", "Wuhou District"),
            ("高新区", "Gaoxin District"),
            ("青羊区", "Qingyang District"),
        ),
    ),
    _city(
        "chongqing",
        ("重庆", "Chongqing"),
        ("重庆市", "Chongqing"),
        "southwest",
        "23",
        ("重庆两江转运中心", "Chongqing Liangjiang Hub"),
        (("重庆渝中营业部", "Chongqing Yuzhong Station"),),
        (("渝中区", "Yuzhong District"), ("江北区", "Jiangbei District"), ("南岸区", "Nan'an District")),
    ),
    _city(
        "kunming",
        ("昆明", "Kunming"),
        ("云南省", "Yunnan"),
        "southwest",
        "871",
        ("昆明官渡转运中心", "Kunming Guandu Hub"),
        (("昆明五华营业部", "Kunming Wuhua Station"),),
        (("五华区", "Wuhua District"), ("盘龙区", "Panlong District"), ("官渡区", "Guandu District")),
    ),
    _city(
        "lhasa",
        ("拉萨", "Lhasa"),
        ("西藏自治区", "Xizang (Tibet)"),
        "southwest",
        "891",
        ("拉萨堆龙转运中心", "Lhasa Duilong Hub"),
        (("拉萨城关营业部", "Lhasa Chengguan Station"),),
        (("城关区", "Chengguan District"), ("堆龙德庆区", "Doilungdeqen District")),
        remote=True,
    ),
    _city(
        "xian",
        ("西安", "Xi'an"),
        ("陕西省", "Shaanxi"),
        "northwest",
        "29",
        ("西安灞桥转运中心", "Xi'an Baqiao Hub"),
        (("西安雁塔营业部", "Xi'an Yanta Station"),),
        (("雁塔区", "Yanta District"), ("碑林区", "Beilin District"), ("未央区", "Weiyang District")),
    ),
    _city(
        "urumqi",
        ("乌鲁木齐", "Urumqi"),
        ("新疆维吾尔自治区", "Xinjiang"),
        "northwest",
        "991",
        ("乌鲁木齐米东转运中心", "Urumqi Midong Hub"),
        (("乌鲁木齐天山营业部", "Urumqi Tianshan Station"),),
        (("天山区", "Tianshan District"), ("沙依巴克区", "Saybagh District"), ("新市区", "Xinshi District")),
        remote=True,
    ),
    _city(
        "hongkong",
        ("香港", "Hong Kong"),
        ("香港特别行政区", "Hong Kong SAR"),
        "hk",
        "",
        ("香港葵涌转运中心", "Hong Kong Kwai Chung Hub"),
        (("香港旺角营业部", "Hong Kong Mong Kok Station"),),
        (("油尖旺区", "Yau Tsim Mong"), ("中西区", "Central and Western"), ("沙田区", "Sha Tin")),
        country="HK",
        dial_code="+852",
    ),
    _city(
        "singapore",
        ("新加坡", "Singapore"),
        ("新加坡", "Singapore"),
        "overseas",
        "",
        ("新加坡樟宜国际处理中心", "Singapore Changi International Centre"),
        (("新加坡合作派送站", "Singapore Partner Delivery Station"),),
        (("乌节", "Orchard"), ("裕廊西", "Jurong West"), ("淡滨尼", "Tampines")),
        country="SG",
        dial_code="+65",
    ),
    _city(
        "tokyo",
        ("东京", "Tokyo"),
        ("东京都", "Tokyo"),
        "overseas",
        "",
        ("东京成田国际处理中心", "Tokyo Narita International Centre"),
        (("东京合作派送站", "Tokyo Partner Delivery Station"),),
        (("新宿区", "Shinjuku"), ("港区", "Minato"), ("涩谷区", "Shibuya")),
        country="JP",
        dial_code="+81",
    ),
    _city(
        "seoul",
        ("首尔", "Seoul"),
        ("首尔特别市", "Seoul"),
        "overseas",
        "",
        ("首尔仁川国际处理中心", "Seoul Incheon International Centre"),
        (("首尔合作派送站", "Seoul Partner Delivery Station"),),
        (("江南区", "Gangnam-gu"), ("麻浦区", "Mapo-gu"), ("钟路区", "Jongno-gu")),
        country="KR",
        dial_code="+82",
    ),
    _city(
        "los_angeles",
        ("洛杉矶", "Los Angeles"),
        ("加利福尼亚州", "California"),
        "overseas",
        "",
        ("洛杉矶国际处理中心", "Los Angeles International Centre"),
        (("洛杉矶合作派送站", "Los Angeles Partner Delivery Station"),),
        (("市中心", "Downtown"), ("圣莫尼卡", "Santa Monica"), ("帕萨迪纳", "Pasadena")),
        country="US",
        dial_code="+1",
    ),
    _city(
        "london",
        ("伦敦", "London"),
        ("英格兰", "England"),
        "overseas",
        "",
        ("伦敦希思罗国际处理中心", "London Heathrow International Centre"),
        (("伦敦合作派送站", "London Partner Delivery Station"),),
        (("威斯敏斯特", "Westminster"), ("卡姆登", "Camden"), ("伊斯灵顿", "Islington")),
        country="GB",
        dial_code="+44",
    ),
    _city(
        "frankfurt",
        ("法兰克福", "Frankfurt"),
        ("黑森州", "Hesse"),
        "overseas",
        "",
        ("法兰克福国际处理中心", "Frankfurt International Centre"),
        (("法兰克福合作派送站", "Frankfurt Partner Delivery Station"),),
        (("萨克森豪森", "Sachsenhausen"), ("博肯海姆", "Bockenheim"), ("诺德恩德", "Nordend")),
        country="DE",
        dial_code="+49",
    ),
    _city(
        "sydney",
        ("悉尼", "Sydney"),
        ("新南威尔士州", "New South Wales"),
        "overseas",
        "",
        ("悉尼国际处理中心", "Sydney International Centre"),
        (("悉尼合作派送站", "Sydney Partner Delivery Station"),),
        (("帕拉马塔", "Parramatta"), ("邦迪", "Bondi"), ("查茨伍德", "Chatswood")),
        country="AU",
        dial_code="+61",
    ),
)

CITIES_BY_KEY: dict[str, City] = {city.key: city for city in CITIES}

# Where parcels leave and enter the country; they are not cities of their own.
GATEWAYS: dict[str, Place] = {
    "shanghai_international": Place("上海浦东国际快件中心", "Shanghai Pudong International Express Centre"),
    "guangzhou_international": Place("广州白云国际快件中心", "Guangzhou Baiyun International Express Centre"),
    "shenzhen_cross_border": Place("深圳皇岗跨境快件中心", "Shenzhen Huanggang Cross-border Express Centre"),
}


def find_city(name: str | None) -> City | None:
    """The city named name in Chinese or English (with or without 市, any case), or None."""
    if not name:
        return None
    wanted = name.strip().removesuffix("市").casefold()
    for city in CITIES:
        if wanted in (city.key, city.zh.casefold(), city.en.casefold()):
            return city
    return None
