"""The rule tables, per language: what people say to pause, go back, choose a piece, take back.

Text here is as :mod:`appliance.understand.normalise` leaves it (lower case, "е" for "ё",
fillers and politeness removed, numbers as digits by :mod:`appliance.understand.numbers`).

- ``transport``: a clause that is *only* a way of saying pause / resume / stop ("hold on a
  second", "keep going", "that's enough"); whole-clause, so "play softer" is not "play".
- ``navigate``: regular expressions searched in the clause, first match wins, back before bar
  (so that "4 bars back" is not "bar 4"); a number group gives ``bars`` / ``bar``.
- ``undo`` / ``reset``: phrases anywhere in the clause (``*_any``), or the whole clause
  (``*_whole``: "nicht so" alone takes back, "nicht so laut" is a direction).
- ``select``: patterns whose group ``q`` is the piece as said ("play the Bach prelude", "ich
  würde gern etwas von Bach hören", "поставь сонату Моцарта"); ``another``: asking for any other
  piece ("next piece", "something else").
- ``pronouns``: "play *it* softer" is a direction, never a piece called "it softer".
- ``piece_words``: words that make "play the piano piece" a piece, although "piano" is a
  dynamic.
- ``chat``: small talk, never sent to the sentence model.
- ``simile``: "(play it) like …", "wie …", "como …", "как …": a description for the sentence
  model.
- ``hints``: common function words, a hint of the language when it is not given.
- ``extra_directions`` / ``extra_negations`` / ``extra_intensity``: additions to the direction
  lexicon (:mod:`appliance.directions.lexicon`) for phrasings met in requests ("more lyrically",
  "don't rush").
"""

from __future__ import annotations

from dataclasses import dataclass

from appliance.understand.intents import ControlAction, TransportAction

N = r"(\d{1,5})"  # a number, as numbers.to_digits writes it


@dataclass(frozen=True)
class Rules:
    code: str
    transport: dict[TransportAction, tuple[str, ...]]
    navigate_back: tuple[str, ...]  # patterns; group 1 (if any) is the number of bars
    back_bare: tuple[str, ...]  # whole clause: back, no number
    navigate_bar: tuple[str, ...]
    beginning_any: tuple[str, ...]
    beginning_whole: tuple[str, ...]
    phrase: tuple[str, ...]
    control_any: dict[ControlAction, tuple[str, ...]]
    control_whole: dict[ControlAction, tuple[str, ...]]
    select: tuple[str, ...]
    select_whole_query: tuple[str, ...]  # the whole clause is the query ("something by X")
    another: tuple[str, ...]
    pronouns: frozenset[str]
    piece_words: frozenset[str]
    chat: tuple[str, ...]
    simile: tuple[str, ...]
    hints: frozenset[str]
    extra_directions: dict[str, tuple[str, float]]
    extra_negations: tuple[str, ...] = ()
    extra_intensity: dict[str, float] | None = None


ENGLISH = Rules(
    code="en",
    transport={
        "pause": (
            r"(?:pause|wait|hold on|hang on|hold it|hold up|freeze|halt|give me a (?:second|sec"
            r"|moment|minute)|(?:just |one |a )?(?:moment|sec|second|minute))"
            r"(?: (?:it|that|the music|playing|there|a (?:second|sec|moment|minute|bit)"
            r"|for a (?:second|sec|moment|minute|bit)|for now|a little))*",
            r"(?:take|have) a (?:break|pause)",
        ),
        "resume": (
            r"(?:play|resume|continue|keep going|carry on|go on|keep playing|go ahead|unpause"
            r"|play on|start|continue playing|start playing|let's continue|let's go on"
            r"|you (?:can|may) (?:continue|go on|carry on|play|start)|back to (?:it|playing)"
            r"|off you go)(?: (?:the music|playing|from here|where you (?:left off|stopped)))?",
        ),
        "stop": (
            r"(?:stop|stop it|stop that|stop the music|stop playing|stop the piano|stop everything"
            r"|that's enough|that is enough|enough|enough of that|quiet|silence|be quiet|shut up"
            r"|turn it off|switch it off|turn the music off|turn off the music|no more music"
            r"|cut it|kill it|end it|that'll do|that will do)",
        ),
    },
    navigate_back=(
        rf"\bback {N} (?:bars?|measures?)\b",
        rf"\b{N} (?:bars?|measures?) (?:back|earlier|before)\b",
        rf"\b(?:rewind|go back|jump back|skip back) {N}\b",
    ),
    back_bare=(
        r"(?:go |jump |skip )?back(?: a (?:bit|little))?",
        r"rewind(?: a bit)?",
        r"a bit earlier",
    ),
    navigate_bar=(rf"\b(?:bar|measure) {N}\b", rf"\b{N}(?:st|nd|rd|th)? (?:bar|measure)\b"),
    beginning_any=(
        r"\bfrom the (?:beginning|start|top|very beginning)\b",
        r"\bto the (?:beginning|start|top)\b",
        r"\bstart (?:again|over|afresh|from scratch)\b",
        r"\b(?:restart|begin again|from scratch|square one)\b",
        r"\bfrom the top\b",
    ),
    beginning_whole=(
        r"(?:(?:play|do|start|begin|take|hear)(?: it| that| this)?(?: all)? (?:over )?)?"
        r"(?:again|once more|one more time)",
        r"(?:the )?(?:beginning|top)",
        r"let's (?:hear|have) (?:it|that) again",
    ),
    phrase=(
        r"\b(?:this|that|the|last) (?:phrase|bit|passage|part|section|line) again\b",
        r"\brepeat (?:this|that|the|the last) (?:phrase|bit|passage|part)\b",
        r"\b(?:start|beginning) of (?:this|the) phrase\b",
        r"\bfrom the phrase\b",
    ),
    control_any={
        "undo": (
            r"\bundo\b",
            r"\bnot like that\b",
            r"\bthat's not what i (?:meant|wanted)\b",
            r"\bscratch that\b",
            r"\bforget (?:that|it)\b",
            r"\btake (?:that|it) back\b",
            r"\bcancel that\b",
            r"\bnever ?mind\b",
            r"\brevert that\b",
        ),
        "reset": (
            r"\bback to normal\b",
            r"\bnormal again\b",
            r"\bas before\b",
            r"\breset\b",
            r"\bplay (?:it )?normally\b",
            r"\bas written\b",
            r"\bback to the original\b",
            r"\bnormally again\b",
            r"\blike you did at first\b",
        ),
    },
    control_whole={"undo": (r"no ?,? no", r"not like this"), "reset": (r"normal", r"normally")},
    select=(
        r"^(?:play|playing|start|put on|queue|give me|let's (?:hear|have|play)|let me hear"
        r"|i'd (?:love|like) to hear|i would (?:love|like) to hear|i want to hear"
        r"|i wanna hear|(?:can|could|may) (?:we|i) (?:hear|have)|how about|what about"
        r"|i'd like|i would like|switch to|change to|do|try) (?P<q>.+)$",
    ),
    select_whole_query=(
        r"^(?:some|something|anything|a piece|a song|one|more) (?:by|from|of) .+$",
        r"^some [^\s]+$",
    ),
    another=(
        r"(?:play )?(?:the )?next(?: piece| one| song| tune)?",
        r"(?:play )?(?:another|a different|a new|some other)(?: piece| one| song| tune)?",
        r"(?:play )?something (?:else|different|new)",
        r"skip(?: it| this| this one| that| this piece)?",
        r"change the piece|surprise me|(?:play )?a random (?:piece|one)",
    ),
    pronouns=frozenset({"it", "this", "that", "them", "like", "as", "more", "less", "a", "in"}),
    piece_words=frozenset(
        {
            "piece",
            "song",
            "sonata",
            "prelude",
            "rag",
            "polonaise",
            "tune",
            "something",
            "music",
            "work",
            "by",
            "number",
            "ragtime",
            "waltz",
            "étude",
            "etude",
            "nocturne",
            "mazurka",
        }
    ),
    chat=(
        r"\bweather\b",
        r"\bwhat time\b",
        r"\bhow are you\b",
        r"\bwho are you\b",
        r"\byour name\b",
        r"\bjoke\b",
        r"\bhello\b",
        r"\bhi\b",
        r"\bnews\b",
        r"\bwhat's up\b",
        r"\bbanana",
        r"\bblah\b",
        r"\btoday\b",
        r"\btomorrow\b",
        r"^(?:no|yes|yeah|nope)$",
    ),
    simile=(r"\b(?:like|as if|as though|in the style of|in the mood of|with the feeling of)\b",),
    hints=frozenset(
        {
            "the",
            "a",
            "that",
            "was",
            "it",
            "is",
            "this",
            "to",
            "of",
            "some",
            "by",
            "me",
            "i",
            "you",
            "my",
            "too",
            "bit",
            "and",
            "back",
            "from",
            "play",
            "again",
            "more",
            "not",
        }
    ),
    extra_directions={
        "lyrically": ("legato", 1.0),
        "lyrical": ("legato", 1.0),
        "more lyrical": ("legato", 1.0),
        "rush": ("accelerando", 1.0),
        "rushing": ("accelerando", 1.0),
        "calmer": ("adagio", 0.5),
        "tenderly": ("p", 1.0),
        "pianissimo": ("pp", 1.0),
    },
    extra_negations=("don't", "do not", "never", "stop", "no need to"),
    extra_intensity={"a little bit": 0.5, "a tad": 0.5, "way more": 2.0, "lot": 2.0},
)

GERMAN = Rules(
    code="de",
    transport={
        "pause": (
            r"(?:pause|pausiere|pausieren|mach (?:eine )?pause|warte|wart|moment|einen moment"
            r"|augenblick|einen augenblick|sekunde|eine sekunde|halt|halt an|anhalten"
            r"|kurz anhalten|kurz warten|stopp kurz)"
            r"(?: (?:kurz|einen moment|eine sekunde|die musik|einen augenblick))*",
        ),
        "resume": (
            r"(?:weiter|weiterspielen|spiel weiter|spiele weiter|mach weiter|weitermachen"
            r"|fortsetzen|fortfahren|fahr fort|spiel|spiele|los|weiter geht's|weiter gehts"
            r"|du kannst weiterspielen|du kannst weitermachen|es kann weitergehen)",
        ),
        "stop": (
            r"(?:stopp|stop|stoppe|hör auf|hör auf zu spielen|aufhören|genug|es reicht|das reicht"
            r"|das genügt|schluss|ruhe|aus|mach aus|ausschalten|sei still|beenden|beende"
            r"|(?:stopp|stoppe|stop|beende) die musik|stell die musik ab|mach die musik aus"
            r"|genug jetzt|schluss jetzt|das ist genug)",
        ),
    },
    navigate_back=(
        rf"\b{N} takte? zurück\b",
        rf"\bzurück um {N} takte?\b",
        rf"\b{N} takte? (?:zurückgehen|zurückspringen|früher)\b",
    ),
    back_bare=(r"(?:geh |spring )?zurück", r"(?:ein stück|etwas|ein bisschen) zurück"),
    navigate_bar=(rf"\btakt {N}\b", rf"\b{N} takt\b"),
    beginning_any=(
        r"\bvon vorn(?:e)?\b",
        r"\bvon anfang an\b",
        r"\bzum anfang\b",
        r"\ban den anfang\b",
        r"\bneu anfangen\b",
        r"\bfang (?:nochmal |noch einmal |wieder )?neu an\b",
        r"\bfang (?:nochmal|noch einmal|noch mal|wieder) an\b",
        r"\bvom anfang\b",
        r"\bneustart\b",
        r"\bneu starten\b",
        r"\bvon beginn an\b",
    ),
    beginning_whole=(
        r"(?:spiel (?:es |das )?)?(?:nochmal|noch einmal|noch mal|wieder|erneut)",
        r"(?:der |zum )?anfang",
    ),
    phrase=(
        r"\b(?:diese|die|den|das|dieses|diesen|letzte|die letzte) (?:phrase|stelle|abschnitt"
        r"|teil|passage) (?:nochmal|noch einmal|noch mal|wiederholen|wieder)\b",
        r"\bwiederhol(?:e)? (?:die|diese|die letzte) (?:phrase|stelle)\b",
        r"\b(?:anfang|beginn) der phrase\b",
    ),
    control_any={
        "undo": (
            r"\brückgängig\b",
            r"\bvergiss (?:das|es)\b",
            r"\bzurücknehmen\b",
            r"\bnimm das zurück\b",
            r"\bso nicht\b",
            r"\bnein ,? nicht so\b",
            r"\bdas war nicht gemeint\b",
        ),
        "reset": (
            r"\bwieder normal\b",
            r"\bzurück zum normalen\b",
            r"\bwie vorher\b",
            r"\bnormal spielen\b",
            r"\bzurücksetzen\b",
            r"\bspiel (?:es )?(?:wieder )?(?:ganz )?"
            r"normal\b",
            r"\bwie notiert\b",
            r"\bwie am anfang\b",
        ),
    },
    control_whole={"undo": (r"nicht so", r"nein ,? nein"), "reset": (r"(?:ganz )?normal",)},
    select=(
        r"^(?:spiel|spiele|spielst du|leg|lege|starte|ich (?:würde|möchte|will|hätte)"
        r"|wir (?:würden|möchten|wollen)|können wir|lass uns|wie wäre es mit|wie wärs mit"
        r"|was ist mit|mach|kann ich) (?P<q>.+?)"
        r"(?: (?:spielen|hören|auflegen|auf|anhören|starten|haben|vorspielen))?$",
        r"^(?P<q>.+?) (?:spielen|hören|auflegen|anhören|vorspielen)$",
    ),
    select_whole_query=(r"^(?:etwas|was|ein stück|irgendwas|eins|mehr) von .+$",),
    another=(
        r"(?:spiel )?(?:das )?(?:nächste|nächstes)(?: stück)?",
        r"(?:spiel )?(?:etwas|was) anderes",
        r"(?:spiel )?(?:ein )?anderes stück",
        r"überspring(?:en)?(?: das| dieses| es)?(?: stück)?",
        r"skip",
        r"(?:ein )?neues stück",
        r"weiter zum nächsten(?: stück)?",
    ),
    pronouns=frozenset({"es", "das", "dies", "wie", "mehr", "weniger", "so", "etwas"}),
    piece_words=frozenset(
        {
            "stück",
            "klavierstück",
            "sonate",
            "präludium",
            "polonaise",
            "lied",
            "was",
            "von",
            "nummer",
            "rag",
            "walzer",
            "etüde",
        }
    ),
    chat=(
        r"\bwetter\b",
        r"\bwie spät\b",
        r"\bwie geht\b",
        r"\bwer bist\b",
        r"\bwitz\b",
        r"\bhallo\b",
        r"\bnachrichten\b",
        r"\bbanane",
        r"\bmorgen\b",
        r"\bheute\b",
        r"^(?:nein|ja|doch)$",
    ),
    simile=(r"\b(?:wie|als ob|als wäre|im stil)\b",),
    hints=frozenset(
        {
            "der",
            "die",
            "das",
            "ist",
            "war",
            "es",
            "ein",
            "eine",
            "nicht",
            "und",
            "zu",
            "von",
            "mir",
            "ich",
            "den",
            "dem",
            "etwas",
            "noch",
            "mehr",
            "zurück",
            "spiel",
            "bitte",
            "takt",
        }
    ),
    extra_directions={
        "lyrischer": ("legato", 1.0),
        "lyrisch": ("legato", 1.0),
        "gesanglicher": ("legato", 1.0),
        "hetzen": ("accelerando", 1.0),
        "eilen": ("accelerando", 1.0),
        "ruhig": ("adagio", 0.5),
    },
    extra_negations=("nicht so sehr", "ohne"),
    extra_intensity={"bisschen": 0.5, "viel mehr": 2.0},
)

SPANISH = Rules(
    code="es",
    transport={
        "pause": (
            r"(?:pausa|pon pausa|pausa la música|espera|espérate|un momento|un segundo"
            r"|un momentito|un segundito|momento|para un momento|para un segundo"
            r"|detente un momento|haz una pausa)(?: (?:un momento|un segundo|un poco))*",
        ),
        "resume": (
            r"(?:sigue|continúa|continua|sigue tocando|continúa tocando|adelante|reanuda|toca"
            r"|vamos|dale|puedes seguir|sigue adelante|seguimos|continúa con la música)",
        ),
        "stop": (
            r"(?:para|para ya|ya basta|basta|basta ya|detente|detén la música|para la música"
            r"|deja de tocar|silencio|cállate|apágalo|apaga la música|apaga|suficiente"
            r"|es suficiente|ya está|se acabó|alto|ya)",
        ),
    },
    navigate_back=(
        rf"\b{N} (?:compás|compas|compases) (?:atrás|para atrás|hacia atrás|antes)\b",
        rf"\b(?:retrocede|vuelve|regresa|atrás|ve atrás)(?: atrás)? {N} "
        r"(?:compás|compas|compases)\b",
    ),
    back_bare=(r"(?:vuelve |ve |ir )?(?:atrás|hacia atrás)", r"retrocede(?: un poco)?"),
    navigate_bar=(rf"\bcompás {N}\b", rf"\bcompas {N}\b", rf"\b{N} compás\b"),
    beginning_any=(
        r"\bdesde el (?:principio|comienzo|inicio)\b",
        r"\bal (?:principio|comienzo|inicio)\b",
        r"\bempieza (?:de nuevo|otra vez|desde cero)\b",
        r"\bvuelve a empezar\b",
        r"\bdesde arriba\b",
        r"\bdesde cero\b",
        r"\bcomienza de nuevo\b",
    ),
    beginning_whole=(
        r"(?:tócalo |tócala |toca |tocalo )?(?:otra vez|de nuevo|una vez más|nuevamente)",
        r"(?:el )?principio",
    ),
    phrase=(
        r"\b(?:esta|la|esa|la última) (?:frase|parte|sección|pasaje) (?:otra vez|de nuevo)\b",
        r"\brepite (?:esta|la|esa|la última) (?:frase|parte)\b",
        r"\b(?:el )?(?:principio|inicio) de la frase\b",
    ),
    control_any={
        "undo": (
            r"\bdeshacer\b",
            r"\bdeshaz\b",
            r"\bolvida eso\b",
            r"\bolvídalo\b",
            r"\bcancela eso\b",
            r"\basí no\b",
            r"\bno así\b",
        ),
        "reset": (
            r"\bvuelve a lo normal\b",
            r"\bnormal otra vez\b",
            r"\bcomo antes\b",
            r"\btoca normal\b",
            r"\brestablecer\b",
            r"\brestablece\b",
            r"\btócalo normal\b",
            r"\bvuelve a la normalidad\b",
            r"\bcomo estaba\b",
            r"\bde forma normal\b",
        ),
    },
    control_whole={"undo": (r"eso no", r"no ,? no"), "reset": (r"normal",)},
    select=(
        r"^(?:toca|tócame|tocas|pon|ponme|pones|poner|tocar|quiero (?:oír|escuchar)"
        r"|me (?:gustaría|encantaría) (?:oír|escuchar)|podemos (?:oír|escuchar)"
        r"|oír|escuchar|vamos a (?:oír|escuchar)|qué tal|y si tocas|empieza|inicia"
        r"|te importaría tocar|te importaría poner|quisiera (?:oír|escuchar)) (?P<q>.+)$",
    ),
    select_whole_query=(r"^(?:algo|una pieza|alguna pieza|más) (?:de|del) .+$",),
    another=(
        r"(?:la |el )?siguiente(?: pieza| obra| canción)?",
        r"(?:toca |pon )?otra(?: pieza| obra| canción| cosa)?",
        r"(?:toca |pon )?algo (?:diferente|distinto|nuevo)",
        r"sáltate(?: esta| esto| esta pieza)?",
        r"sáltala",
        r"salta(?: esta)?",
        r"saltar",
        r"pasa a la siguiente",
    ),
    pronouns=frozenset({"lo", "la", "eso", "esto", "como", "más", "menos", "tan"}),
    piece_words=frozenset(
        {
            "pieza",
            "canción",
            "sonata",
            "preludio",
            "polonesa",
            "algo",
            "de",
            "número",
            "obra",
            "rag",
            "vals",
            "estudio",
        }
    ),
    chat=(
        r"\btiempo hace\b",
        r"\bqué hora\b",
        r"\bcómo estás\b",
        r"\bquién eres\b",
        r"\bchiste\b",
        r"\bhola\b",
        r"\bnoticias\b",
        r"\bbanana",
        r"\bhoy\b",
        r"\bmañana\b",
        r"^(?:no|sí|si)$",
    ),
    simile=(r"\b(?:como|como si|al estilo de)\b",),
    hints=frozenset(
        {
            "el",
            "la",
            "los",
            "las",
            "que",
            "es",
            "un",
            "una",
            "de",
            "y",
            "lo",
            "me",
            "eso",
            "esto",
            "más",
            "muy",
            "por",
            "toca",
            "demasiado",
            "compás",
            "otra",
            "vez",
            "algo",
        }
    ),
    extra_directions={
        "lírico": ("legato", 1.0),
        "más lírico": ("legato", 1.0),
        "líricamente": ("legato", 1.0),
        "corras": ("accelerando", 1.0),
        "prisa": ("accelerando", 1.0),
        "te apresures": ("accelerando", 1.0),
        "con calma": ("adagio", 0.5),
    },
    extra_negations=("sin",),
    extra_intensity={"mucho más": 2.0},
)

RUSSIAN = Rules(
    code="ru",
    transport={
        "pause": (
            r"(?:пауза|поставь на паузу|на паузу|подожди|погоди|постой|секунду|минутку"
            r"|секундочку|минуточку|одну секунду|одну минутку|момент|стоп на секунду)"
            r"(?: (?:секунду|минутку|немного|чуть-чуть|секундочку))*",
        ),
        "resume": (
            r"(?:продолжай|продолжи|продолжаем|продолжайте|играй|играй дальше|дальше"
            r"|продолжай играть|поехали|вперед|сними с паузы|возобнови|можно дальше)",
        ),
        "stop": (
            r"(?:стоп|хватит|остановись|останови|остановите|прекрати|перестань|достаточно"
            r"|выключи|выключай|тишина|замолчи|останови музыку|выключи музыку|стой"
            r"|перестань играть|закончи|довольно|прекрати играть|хватит играть)",
        ),
    },
    navigate_back=(
        rf"\b(?:на )?{N} такт(?:а|ов)? назад\b",
        rf"\bназад на {N} такт(?:а|ов)?\b",
        r"\bна такт назад\b",
    ),
    back_bare=(r"(?:вернись |иди )?назад", r"(?:чуть|немного) назад"),
    navigate_bar=(rf"\bтакт[ауе]? {N}\b", rf"\bс {N} такта\b", rf"\bк {N} такту\b"),
    beginning_any=(
        r"\bсначала\b",
        r"\bс начала\b",
        r"\bзаново\b",
        r"\bв начало\b",
        r"\bк началу\b",
        r"\bс самого начала\b",
        r"\bпо новой\b",
    ),
    beginning_whole=(r"(?:сыграй |играй )?(?:еще раз|снова|опять)", r"начало"),
    phrase=(
        r"\b(?:эту|ту|последнюю) фразу (?:еще раз|снова|заново)\b",
        r"\bповтори (?:эту |последнюю )?фразу\b",
        r"\b(?:этот кусок|это место|этот отрывок) (?:еще раз|снова)\b",
        r"\bс начала фразы\b",
    ),
    control_any={
        "undo": (
            r"\bотмени\b",
            r"\bотмена\b",
            r"\bверни как было\b",
            r"\bзабудь(?: это)?\b",
            r"\bнет ,? не так\b",
            r"\bне то\b",
        ),
        "reset": (
            r"\bкак обычно\b",
            r"\bвернись к обычному\b",
            r"\bиграй нормально\b",
            r"\bсбрось\b",
            r"\bпо-обычному\b",
            r"\bнормально\b",
            r"\bпо умолчанию\b",
            r"\bкак написано\b",
        ),
    },
    control_whole={"undo": (r"не так", r"нет ,? нет"), "reset": (r"обычно",)},
    select=(
        r"^(?:сыграй|сыграйте|сыграть|играй|поставь|поставьте|поставить|включи|включите"
        r"|включить|хочу (?:послушать|услышать)|я (?:бы )?хотел(?:а)? (?:бы )?(?:послушать"
        r"|услышать)|послушаем|можно|исполни|начни|давай) (?P<q>.+)$",
    ),
    select_whole_query=(r"^(?:что-нибудь|что-то|чего-нибудь|пьесу) .+$",),
    another=(
        r"(?:сыграй |поставь )?следующ(?:ую|ая|ее|ий)(?: пьесу| пьеса| вещь)?",
        r"(?:сыграй |поставь )?(?:что-нибудь|что-то) другое",
        r"(?:сыграй |поставь )?другую(?: пьесу| вещь)?",
        r"пропусти(?: эту| это| ее)?",
        r"(?:смени|поменяй) пьесу",
        r"другое",
    ),
    pronouns=frozenset({"это", "его", "ее", "так", "как", "более", "менее", "больше", "меньше"}),
    piece_words=frozenset(
        {
            "пьесу",
            "пьеса",
            "сонату",
            "соната",
            "прелюдию",
            "полонез",
            "что-нибудь",
            "рэг",
            "номер",
            "вальс",
            "этюд",
            "что-то",
        }
    ),
    chat=(
        r"\bпогода\b",
        r"\bкоторый час\b",
        r"\bкак дела\b",
        r"\bкто ты\b",
        r"\bанекдот\b",
        r"\bпривет\b",
        r"\bновости\b",
        r"\bбанан",
        r"\bзавтра\b",
        r"\bсегодня\b",
        r"^(?:нет|да)$",
    ),
    simile=(r"(?<![\w-])(?:как|словно|будто|как будто|в стиле)(?![\w-])",),
    hints=frozenset({"и", "не", "это", "так", "еще", "чуть", "было"}),
    extra_directions={
        "лирично": ("legato", 1.0),
        "лиричнее": ("legato", 1.0),
        "лирически": ("legato", 1.0),
        "торопись": ("accelerando", 1.0),
        "спеши": ("accelerando", 1.0),
        "гони": ("accelerando", 1.0),
    },
    extra_intensity={"более": 1.0, "больше": 1.0, "побольше": 1.0},
)

RULES: dict[str, Rules] = {r.code: r for r in (ENGLISH, GERMAN, SPANISH, RUSSIAN)}

# Composer names as said in Russian (any case ending) → as the library writes them.
COMPOSERS_RU: dict[str, str] = {
    "шопен": "chopin", "бах": "bach", "моцарт": "mozart", "шуман": "schumann",
    "шенберг": "schoenberg", "джоплин": "joplin", "клар": "clara", "бетховен": "beethoven",
    "шуберт": "schubert", "дебюсси": "debussy", "чайковск": "tchaikovsky", "гайдн": "haydn",
    "рахманинов": "rachmaninoff", "эмануэл": "emanuel",
}  # fmt: skip
