"""The course glossary: one Korean word for each deep-learning term, with its English in parentheses.

Every lesson writes a term the same way, so a learner who meets 합성곱 in lesson 01 meets 합성곱 —
not 컨볼루션 — in lesson 05. :mod:`tools.nblint` enforces two rules over the Markdown prose of
every notebook (code cells and `code spans` are never checked):

- a *forbidden variant* (컨볼루션, 레이어, 파라미터 …) never appears — use the glossary word;
- the first time a term appears in a notebook's running text it is written ``한글(English)``,
  e.g. ``합성곱(convolution)``. Headings do not count as a first use (a heading may say
  "합성곱 계층"; the paragraph under it gives the English). The parentheses may hold more than the
  English word — ``최대 풀링(max pooling)`` glosses 풀링(pooling) too — an English plural or
  derived form counts ("weights", "convolutional"), and a compound of up to three Korean words may
  share one gloss: ``합성곱 계층(convolutional layer)`` glosses both 합성곱 and 계층.

To mention a variant on purpose ("흔히 `컨볼루션`이라고도 합니다"), put it in a code span.

``python -m tools.glossary`` prints the glossary as a Markdown table (for the README or slides).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Term", "GLOSSARY", "markdown_table"]


@dataclass(frozen=True)
class Term:
    """A glossary entry: the Korean the course uses, its English, and the variants it must not use."""

    ko: str
    en: str
    forbidden: tuple[str, ...] = ()
    #: Other English forms accepted in the parentheses (besides ``en``; plurals always count).
    also: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.ko}({self.en})"


GLOSSARY: tuple[Term, ...] = (
    Term("합성곱", "convolution", ("컨볼루션", "콘볼루션", "컨벌루션", "콘벌루션", "합성 곱")),
    Term("계층", "layer", ("레이어",)),
    Term("매개변수", "parameter", ("파라미터", "파라메터", "패러미터", "매개 변수")),
    Term("수용 영역", "receptive field", ("리셉티브 필드", "리셉티브필드", "수용장", "수용영역", "수용 필드")),
    Term("미세 조정", "fine-tuning", ("파인튜닝", "파인 튜닝", "파인튠", "미세조정"), also=("fine-tune",)),
    Term("최대 풀링", "max pooling", ("맥스 풀링", "맥스풀링", "최대풀링", "최댓값 풀링")),
    Term("풀링", "pooling", ("폴링",)),
    Term("보폭", "stride", ("스트라이드", "스트라이딩")),
    Term("패딩", "padding", ("덧대기",)),
    Term("배치 정규화", "batch normalization",
         ("배치정규화", "배치 노멀라이제이션", "배치 노말라이제이션", "배치 놈", "일괄 정규화")),
    Term("활성화 함수", "activation function", ("활성화함수", "활성 함수", "활성함수", "액티베이션 함수")),
    Term("학습률", "learning rate", ("러닝 레이트", "러닝레이트", "학습율")),
    Term("과적합", "overfitting", ("오버피팅", "과대적합", "과잉적합")),
    Term("데이터 증강", "data augmentation", ("데이터증강", "어그멘테이션", "오그멘테이션"), also=("augmentation",)),
    Term("순전파", "forward pass", ("포워드 패스", "포워드패스", "순방향 전파", "정전파"),
         also=("forward propagation",)),
    Term("역전파", "backpropagation", ("백프로파게이션", "백프롭")),
    Term("손실 함수", "loss function", ("손실함수", "로스 함수", "로스함수", "로스 펑션")),
    Term("가중치", "weight", ("웨이트", "가중값")),
    Term("편향", "bias", ("바이어스",)),
    Term("완전 연결 계층", "fully connected layer",
         ("완전연결", "완전 결합", "전결합", "풀리 커넥티드")),
    Term("특징 맵", "feature map", ("피처 맵", "피처맵", "피쳐 맵", "피쳐맵", "특징맵", "특성 맵", "특성맵")),
    Term("에포크", "epoch", ("에폭", "에포치", "이포크")),
    Term("배치 크기", "batch size", ("배치 사이즈", "배치사이즈", "배치크기")),
    Term("체크포인트", "checkpoint", ("체크 포인트",)),
    Term("전이 학습", "transfer learning", ("전이학습", "트랜스퍼 러닝", "전이 러닝")),
    Term("사전 학습", "pretraining", ("사전학습", "사전 훈련", "사전훈련", "프리트레인"), also=("pretrained",)),
    Term("드롭아웃", "dropout", ("드랍아웃", "드롭 아웃", "드랍 아웃")),
    Term("소프트맥스", "softmax", ("소프트 맥스", "소프트멕스")),
    Term("옵티마이저", "optimizer", ("옵티마이져", "옵티마이자")),
)


def markdown_table(terms: tuple[Term, ...] = GLOSSARY) -> str:
    """The glossary as a Markdown table: 용어 / term, English, 쓰지 않는 말 / avoid."""
    rows = ["| 용어 / Term | English | 쓰지 않는 말 / Avoid |", "|---|---|---|"]
    rows += [f"| {t.ko} | {t.en} | {', '.join(t.forbidden)} |" for t in terms]
    return "\n".join(rows)


if __name__ == "__main__":
    print(markdown_table())
