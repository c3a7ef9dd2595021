"""What kind of item a "what/which" question seeks, from its meaning.

"What was the tram's price tag?" seeks an amount, "Which Pike Hill politician...?" a person,
"Port berth construction start?" a date: the wh-word doesn't say, the words do. A softmax
regression over the question's embedding (the vector dense search computes anyway) tells
them apart; `bench/fit_kinds.py` fits it on the dev set's and the news dev set's tune
questions, each labelled by the named entity its gold answer is, and checks it on the news
test questions (docs/retrieval.md). The weights below are that fit, sha256-checked on load.
"""

from __future__ import annotations

import base64
import hashlib
from functools import lru_cache

import numpy as np

from retrieval.search.question import Kind

#: The embedder whose vectors the model was fitted on: with any other, the kinds the
#: grammar leaves open stay open (the vectors would mean something else).
FITTED_ON = "all-MiniLM-L6-v2-onnx-int8"
#: The classes, in the order of the weights' columns.
KINDS: tuple[Kind, ...] = (
    Kind.PERSON,
    Kind.ORGANISATION,
    Kind.PLACE,
    Kind.DATE,
    Kind.NUMBER,
    Kind.AMOUNT,
    Kind.DESCRIPTION,
)


class KindModel:
    """The fitted regression: a question vector in, the kind it most likely seeks out."""

    def __init__(self, weights: np.ndarray) -> None:
        self.weights = weights.astype(np.float32)

    def kind(self, vector: np.ndarray) -> Kind:
        """The most likely kind for this (unit) question vector."""
        scores = np.append(np.asarray(vector, dtype=np.float32), 1.0) @ self.weights
        return KINDS[int(np.argmax(scores))]


@lru_cache(maxsize=1)
def shipped() -> KindModel:
    """The model fitted by bench/fit_kinds.py, its bytes checked against their sha256."""
    raw = base64.b64decode("".join(_WEIGHTS))
    if hashlib.sha256(raw).hexdigest() != _SHA256:
        raise RuntimeError(
            "retrieval/search/question_kinds.py: the weights do not match their sha256"
        )
    return KindModel(np.frombuffer(raw, dtype=np.float16).reshape(_SHAPE))


# --- weights (bench/fit_kinds.py --write) ---
_SHAPE = (385, 7)
_SHA256 = "f2f265a4d2e84afa4796cc744c198e01cb434fe352111fe630109d2cfae1eba6"
_WEIGHTS = (
    "pr5jPra1H739P8EyC7hgPeSi07rEule++DhVPW6tBDrdNuS4gLxIuTQ9eTbPJxyqajbBH/uzX7hbQWQzRbA+wDO4CbwM"
    "O5GxOqXntJI6iLo3OAGoJrCcQEm6jsBAO+I5Crq2LrK5bq0Ttq08cT3VveA78TlZMyS9ZLzypkA3sTzZuAGt6bbMtv4z"
    "lC9iuKWsE71fOPK63DAeQDe0EDu5vJI+mLt9qDyu2jSrLV0xDLu4r+M1vCyQvZq+Cz+pQPG0O7WgtsfAXDiJQX0x5buB"
    "uEE39DhzOC+8pT36uuI5nb28v18+vbdiOqm1MTlOtE1BWDVRqDS7tb1euoYxMjByPKk5pzyzoPa4+MCmuZe8H7RFqwK2"
    "SzZNQIi/ybPNPfI8pTuhKkW+dD3EtvgsbrsUuT+1/TrouOW7Uj+zuIlA6LbrveKwkq13sXO087uTM8g9dTbzMGQsajb5"
    "vN48AbwwuK07+7UOus+3prgOP9E9wLSvPOOsS7+tN0S7IisiOowxh720tDK40jwdvbU4aTmMug+3rLRCPia8Wrw7PJM/"
    "UThts4q8pjlOPLK05LweupOpVzhLws+2VzybvCA+djm0PSq5W7vftwY4oTTROU04+DkZNmUtlTf+IUa8CLloNUs1kKRq"
    "uhY8sTjUvck/yD1LvtQ8Mr8ZtMG7PTKdvFO7/TqOL9Q1JDiUtts5PLhdO+a5Dzzqu+E5wSrvt3A6WzbQuSO68jZ0MBW4"
    "OzM0QAwt8MC/i8k8s7uwtyCtlDLDL7y0lTgwOQPBkT7rHk2sTbsyNeo/OLiDsM+7DzRULAm8h7x0PG5ALru3teuyeDln"
    "NBq4OLJGOI648TIztxS3ZTiSNPAq2bIzs4s4Mrdruti8fTo8PZm/tbxcug0+kTM2Nu8+qboZuhm4hDg8P8gyprfAtJy0"
    "AbrBOxQ8+joavu85xLlLuuO9HywrPIY8NLd8vck4ZDmxPWq7ySp+s5q0Xbi+O/u61DnKM0k2tjG9OXrAJj9Hthu3LbJT"
    "sEs6ybsUHP2xlTnJOx00XLByP8G/xjCqvG09MDgWPNcxtbwPvCK7fjwluzC6oj+ZuEo4Tr2fuEW4mrYcNlyxArQ9PtQ3"
    "F7c3PV+74TrFOQXAnB7KO+Soi7vaOciwprgbO6Q8ATZZPVe8ELhWwIA5CzZ3PAW4UrbXuHC5zblBOq+9zDMEvDw3sD75"
    "uv8yvLevuCw36rbTPg074zz0rpk17jSOuCrAADgruhY5BDyYwCWorjsAuVRBLjsXsYe/mblKsje38L9otFlAjze/IeEq"
    "HTsovE+9bTl2O0q0STDCPTQ97LyvJ469orIXK5+0K6iOvdUsyDxGtKY5WzQYOJi0HLupuVw7vzHer2U4gjwbwDe6ir1S"
    "QVQ98K00s4K1xjAltfe3FDepmLsszDwgvco4H7w3tuM3OblBuYuwHjmoORpA2zDYucc9zDCRun7AVrrkPYA3ZryMsbER"
    "4i9KPGE8dzqTwOq8lDYnMBk4CjXBIuC0xr1co187JLk7Pfc9gbjptbW9dTKkMa+/DLQMM+I5ULa/PQ8zV7V9OjynLDJj"
    "vuA5q7wwu/S1kjNzOiAx8TyLPvo0Ki8SMjy52iyvvjSx6a6FplA4qrY4O9S5w7X7LBGwAJ4EPfU3WL3EOEA4ED1Stqa6"
    "4KxdvM29rqaRO0KyoTzCO5u94rjJsIe+sjp2t3441z3qNtq1uDpnOUM4SCNCwCcyUEBRumi/JjcwPM68CDRhPwy1YLk5"
    "OXW+urCrvcg3qEC7Mjq51LtgJv40uTqEs/e/xD9fMAW8LbmUP7EhQ7LLtCK67RtqMAnCizdCPiw8ervkOZC8cTcKwFo9"
    "Xil7N8g6jjcxQIm9+7pYvs84ZTm8un8+1DV+u6C4dK1CNx88TkJnscfAQL7iJCOtgT2/vle0Sb2ZLAQzcT4LP7EsoTlA"
    "KB+2br6luAI8sz7JvDI9AcExNk+5+rztNXw9WDfXPlK3a8DSPNrAjrrLMMky1ThNPIKyO7glsAC/FkDjNWky0jgcOFAp"
    "474bva818T2FuL4xwTQ+N1iwFjbfuO086LrFtP88ETxuvtO5cLkXOMk8srZZJic7Hb5mwDa2irZSQQs9S7EUunE1arqU"
    "uf0myqEEOSA43x2tmFK4G7W1Pyi3/rgALi01CriXPpW7fD54wN275bw4Pj+9C7h4PGg9qjzmNNzBZ7xmO7qt5T5WuqW7"
    "njmlP+08vDcpwRG/ZrjCMog66EDruGa4QjyDvJ6/WzZ0OZ08OrRTugQ3d7BxugQ81DERL8w2vLoyOOEmBjyxtUa6Djd0"
    "tWg4rLl5tmA1DjAtsDk/wDckvMwcQcD8O5m3uD6YKHo6I7oIvjYzJDqFwCO36D07q36+SUAAgAAAAIAAAACAAAAAgJW5"
    "Dr0OPTC6Wq25OLk7FUALoF29bsG7PaA+RLzNNa4/qTWwvVI6iLFUv5w1RDlivE0+tz0LvaC+2bRCPEa7mLyjGsG4jT/U"
    "O2M43bnIvu20AZ/dPA8+ZLjXOsu5ILE/Ot6+6y4PQL+s2L1VPg+4tr50uqO9h7CFM5E+pjYpLCKN4bzCMN+6FTs4nzU8"
    "rrdXPBMtiDf7L2S6sreitps1WzjQvwy57jtzPBm5QLXgp+g0ZCb9NkgzZL0uPimwmsAArgc6Sj5KLWW8XjSXvF4y9bBi"
    "PyU8rLrHOjS8gbf/qBM4Fz0ItqRBfjdlOcy6AsTuvAk6eDuwtlK4nTK7NCas87gcvLFAz7u0MTMxXrxnOD08o7lLIGkz"
    "3Kr3PZO4tjXDuVg6fLuctjE85TlgPULDCLOWOLQwDLxGsBc2NrlwKh4yszx8uNkXEbituf249jNNQHi4EbuOKFozdzZ5"
    "uFQ9fTRAIJK1s7b/Pc05/L7zPIAyxCR8Oa64CLxruF+4PDmwPmG8sDmQupu4NkKmuci5Ir4vth09JbyzsZ80E7uNNDs0"
    "T7TnN1s7ZznMvSk/gTjJtibAvDglvCi+NjDIuYY2VkC9MYi67DIPsEc+Dzfavd00FTkJu3s95jcPwNQuXbnYpZY+AL2J"
    "MKiuIjSFvLjAtLrIQS82ZDWzOT7BhTwhuF+0RTxMNpE65LIHwHA2wjbGPiI7ubzUOJA4Yy0Tnzo2NTXdv4k5BDMUOUit"
    "nTuGtSTAPLwQOy08tDYptdq1ybgZszg47a42vqY2BTcCOF88L7sku6Y0oT1UOaq+tridHFRAY74PMLO03zFuKO2zDTjb"
    "Obu69LYCNGq96i1IMXw25zFhMuo0wTUlPXK6IzV8uZ85trxNuRO8VCMaOd04wirmNeI6ubxbvCI8E7CdOL+sLTVmODW/"
    "6rpbN+86djcBvB27A5uNPuQ0t64IKyq/yazHOsk4NakoMk80EzzhO1OxyLmYt/a5wS6CtS29DSbCuQQ+QzYENzu1frwI"
    "PH20QTeXuMA687yUsr8u/jFCtESlwD0NNo85+zV7tU24TTUwuzRArTiKLvG7P626KhG/Bzbkvag/Abi9Oek23r1OvgjB"
    "NzUTNR9CQjMpMVW6Lrb3vCpAcD0NtCm6+7oOOYg2QTwZO9KxwL+jPI27SqtYFeQ74TmGv4g8jLl6Oba94rkcrXk8H7CB"
    "qg4zM771P3C/hT1vwcW6DMBTODM9QEB7PrA0W7z7trc7kbimrEs7mLhPsV21UTBxOZi4rTohLI00qrkPt+Cv0LmaPrS6"
    "P7lePK+9cT4mudg6GTwzOmo9JD2jv2CyqMAsO1s+yqfptAMwX7dAv34+XDddQBDA67q/tQq8fTbQPmNBesEEtTC457yT"
    "LkA4KT0FPdC9Yayhvg07N71jsZs3UDJpr1Io4b5Bv5S+AEHNPWY3IDp1PSMjEkDXtt29Xbzltou/6jaCuII5aqhzQOS6"
    "l8HMsue4eDxUPK46sjhjwDA8LDgRQaG9ILN0tLquabhUMZk62LgGOHCzfDPaIxK5qDiNLr04I7slOua3nD91PR03gb04"
    "wfI5eri6vsC2lzXwO6A4M6YlPqiqULU9unQ2BLoQwE24IbeyOamwczkSP+g7jrZkvmA9PK5HORi7yrRROW+9Q6yBs/4z"
    "Ljz6QYe3WbYzrl0k9zXUwHC+jr1tvyw8cT8XO0M8azaMNNq4brReu5oxjDsTsyC5/bq+GR+13rrTQdY8S7g5vfY7kr1Y"
    "sws9c75mNMe2Hj/Zvbg8NzQAAACAAAAAgAAAAIAAgEE187y6PK8+gbVBqyu+iLt2ubS/OUCbPGw5P7YCPBm2qTnaN7m2"
    "4q8ave26dzbHwcc6YbKoOfs/NjrGPrDAgjdSvq83CTgLt9a2E7p8uZg8kCpzPCe++r2EPBA9az2VOCi9vrzPvZK+mUBe"
    "PrA+Ib27vBS7XzuBKycprjYIOfAhzDpQugyznTeYODi7STrCOsOfxDzQOPa9s7/bus66+agZORo8EjjOtjO32z4DOQom"
    "Ey10qsa/jzzBsi+8wbWNuEY8FKakOrg4FjmquJO96btIO3w7szwyOag4MLqOtzHA1LYdLJmwbbgOuOqyIj+Yt+S/+j3+"
    "MlW23rJhPYu8AbzbNd25BDdZOZY9DrwuNws4fTiLuLa8+zwkue+6oDXuu2o0HbRCQMm4sbr4Mqa/4jhyPaE8465ttBQ3"
    "i7q6taY+WrjHrDK+RTkYuG00HD+euJ04HjTWtrE9ArrbsSm74rfYqfe8c7c7PGEwNDxvQZ0zu8AcPoIy/7XIv7U9PDdA"
    "O12oH70ZtNy8WrJdvNyhdbm6Opc7MDJxOCo9aLt1vHY69LBXt6u/xroFt3gtXT71svo+Syb3sT67fzdYvbW5S0HcOAe4"
    "yT01vViyfLLdMOE7QLsZtRk6S7ToNHy4FbypNe8s4LQ8Os+yQDV3Pyo2b7wlujoxmr9yPd+4a7zCvvI0tDzyNu89rLMA"
    "u+ysSjaePaS0CrUBNFUZQje4LBCwcjLWuhI5ebWguPwwTDxsr5+6FLtTvI21zLqFQPw4ejRVPpI97Lh3tAS+grkfLxs4"
    "lDyAMl+8zzqDvbqzW696vJU2pi/aNaokHDVkudKwTbQ2NT29JTo8PXbBgj11saY6vjlKteI01T1vvdS86DLKOGw0PiTQ"
    "tQc7mTn9LoC4F70WOBu1TTjJuKqr7boLP0i3fzm8O4++4rTlPEi5XbQwvAq5eq8cM+Y75ylOOMwwuTk9tRxAYrnutTK+"
    "oDH4vNE50TmXwDeksT+HMCU8aLxRwGi3YTr9PgM4iLXlPb01T6xFoKe/hz9QOgk9Fym2vA+0E8HptZ+5B7qtPEY27TrR"
    "uFQwcDiFO/w08bihuPa5ML4PO0I+vLHCPGW75LvHv0k8k7nULoS4l7ShQL82RLY3rO4wopnzL6yzEj/BuRi/WzqGOK+r"
    "mbgDNiyw4Twwur6zK75ePDY+D6RuvAC5ebiyLjM5FDRQvqY6PbVJMPM5d6t+OJW7Bz0vucOyRhRhoku0lsDeOms8g748"
    "PKw8KTxfQQc6d71ov8q+/ja+KgC8NDrvPk23U708M/Kvs7tauoO4FzqJK38+Kj2nrBm9bD6EvrQ5Ebnrvko//jX8tgI5"
    "QbAxuE64kDdGOZTAY7XiOTA9AzVFvIg6HDUQu9i77T3gNWYulTwJvi68wzdPN++5zD6MLdO/FLyRPFE64LTAnlEwVTkO"
    "uDQ4Ebi9PAU7eDBNtMm1hThFwCI1lLjbsy6tJzRuOsO3o7hWu1G6r71FPoQ9FjodOAM6+j9JwB6++rbKOnm7oTN/N3g2"
    "YrZmu5Y8o7wzOqa8kTYePKw60bkWOEMyVK3EOqW/67yvPoO4rbsKMLuziUC6NjK8bb4DQGk+aTgzuJ+7TbydOK65UTbQ"
    "KnuzviRbrk67hbB1OeK4mjgauy49TKuwNi01D7OYLci7vjYONPW9O7uptWU89DwEMV0+gLhRKz81ZrHUtoq63rEyqXM3"
    "b7lbuzw7QTcePTcpUrzNvVA58z2Ku8s4MrfCugo6C7/Ju1lBZru8uI47Yzmsui8xkjgBAAKAAoAAgAAAAQACAK82bb6T"
    "sKw/IL+lNj065rl3vTA27jmSPYk0nLljuR1AgDIRudMy8DOovbG0lLiBOG2qZa3YtWw6uzHJOAq4ijUvMcazTbiduwC9"
    "F7LiPuW3YDyILHC66TqxNSs64rzdNk+2iThNszW+ZrRKPOEzaDG/wM85/DzJMVspg7w6PZA/l7LoKke9QrcHM+6xCr3y"
    "uK2+WDxmP7M7obU7u2AyRjL7sGE4urqpO3Q7WbTiOIY4RLUbuvO55ztNNMa9SbCDsYKykjkPuhU43LzxPiky6bsvONG3"
    "YjnSudo1xTq7sCq4MkB2PGW3tLSJs7W1db/RNAg6QzsfvnywMT5dv2K4qaoLPF04G6YaLQy8Oj2KNPM8rbXevJM3677P"
    "uDC3qSvotQU3gTYeOA8xfrjBuTW82y3uPc444S4rMy+27D7lvA25tzFRJLG5ZiZPq4UwHbC2Odw+DjvquBi9nDxAvGO6"
    "/7hlPSI2m75/sQS0uzu/vJM18D00vC2sPDv3tte6wLmNupWwHTfFPTI5EK9TQRQ8IrnmLbG7H8D7O+a5IrhsNsO/Mq2C"
    "P0owDr3oOfq3XDrYrfox3kCmO4O8/z1EwtYwPbomsfC7ZzrKtQ4wWS+RN9OuVLi6OBy7Gr+NKVtB1Dn+PJA08rkDOpa0"
    "8L8FOqE/ozSlMoW6Vr8QuGA08C1APc0/3LpGuTnAJjOjMCK6xjuOvHg1JTO2OVq8brsst2U6tbU7Peg6DjazvHK6y7MH"
    "QCG8x7DpPFm6H67UunGs3zn8P5k5wbiKP0u/Lb7zuD45SamhK367UDZUvJk7+rELOCq41yyBPJm4z7bhNkGyn71LObYe"
    "ATz6t9U6yajdND0tIjRQtMS8GEJsOYixkzw0wZ29hLnPvXCfE6vwOyW9wrZ2QPc/vzh2Mg48Wbycuoy/fzyxv+c3rz+C"
    "vEm5ejGgvDW51Dh9IO0yZD71uM6/f7hjOMg5MzRINrM41z0QvZq0Kjq+rQq8wzbzspM7KaxcvGM4xLiON1S86L2kuMg+"
    "1zS/s4g98jlzsEIpN7l1OAqmN7j+sp6xKi3qq9k2rrSrM2Qzizi6uQi6QrghPHUxkD2Wv2M5eaBssMa+sD7WubC2wTzO"
    "tl68TbgHQG+7sbuzPUk0/bEMsBg4Cj5nuru4kTt9PmnBqSQHQLqv3K4oo0i4f7wrry6xObgQOMS6BbiSOKs787LFOh88"
    "YLgrvAzAzz8="
)
# --- end of weights ---
