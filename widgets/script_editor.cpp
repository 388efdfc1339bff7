#include "widgets/script_editor.h"

#include <QHelpEvent>
#include <QPainter>
#include <QRegularExpression>
#include <QSyntaxHighlighter>
#include <QTextBlock>
#include <QToolTip>

namespace sbiw::widgets {

class LineNumberArea : public QWidget {
  public:
    explicit LineNumberArea(ScriptEditor* editor) : QWidget(editor), editor_(editor) {}
    QSize sizeHint() const override { return QSize(editor_->lineNumberAreaWidth(), 0); }

  protected:
    void paintEvent(QPaintEvent* event) override { editor_->paintLineNumbers(event); }

  private:
    ScriptEditor* editor_;
};

namespace {

// JavaScript as far as a simulator script needs it: keywords, numbers, strings, comments.
class JavaScriptHighlighter : public QSyntaxHighlighter {
  public:
    explicit JavaScriptHighlighter(QTextDocument* document) : QSyntaxHighlighter(document) {
        QTextCharFormat keyword;
        keyword.setForeground(QColor(0, 70, 160));
        keyword.setFontWeight(QFont::Bold);
        const QStringList words = {"break",  "case",      "const",  "continue", "default",
                                   "do",     "else",      "false",  "for",      "function",
                                   "if",     "in",        "let",    "new",      "null",
                                   "of",     "return",    "switch", "this",     "true",
                                   "typeof", "undefined", "var",    "while",    "Math"};
        rules_.push_back({QRegularExpression("\\b(" + words.join('|') + ")\\b"), keyword});
        QTextCharFormat number;
        number.setForeground(QColor(150, 60, 0));
        rules_.push_back(
            {QRegularExpression(R"(\b[0-9]+(\.[0-9]*)?([eE][-+]?[0-9]+)?\b)"), number});
        QTextCharFormat string;
        string.setForeground(QColor(0, 120, 40));
        rules_.push_back({QRegularExpression(R"("([^"\\]|\\.)*"|'([^'\\]|\\.)*')"), string});
        comment_.setForeground(QColor(120, 120, 120));
        comment_.setFontItalic(true);
        rules_.push_back({QRegularExpression("//[^\n]*"), comment_});
    }

  protected:
    void highlightBlock(const QString& text) override {
        for (const Rule& rule : rules_) {
            auto matches = rule.pattern.globalMatch(text);
            while (matches.hasNext()) {
                const QRegularExpressionMatch match = matches.next();
                setFormat(int(match.capturedStart()), int(match.capturedLength()), rule.format);
            }
        }
        // Block comments may span lines: state 1 means "inside /* */ at the end of this block".
        setCurrentBlockState(0);
        int start = previousBlockState() == 1 ? 0 : int(text.indexOf("/*"));
        while (start >= 0) {
            const int end =
                int(text.indexOf("*/", start + (previousBlockState() == 1 && start == 0 ? 0 : 2)));
            if (end < 0) {
                setCurrentBlockState(1);
                setFormat(start, int(text.length()) - start, comment_);
                break;
            }
            setFormat(start, end + 2 - start, comment_);
            start = int(text.indexOf("/*", end + 2));
        }
    }

  private:
    struct Rule {
        QRegularExpression pattern;
        QTextCharFormat format;
    };
    std::vector<Rule> rules_;
    QTextCharFormat comment_;
};

}  // namespace

ScriptEditor::ScriptEditor(QWidget* parent) : QPlainTextEdit(parent) {
    lineNumberArea_ = new LineNumberArea(this);
    QFont font(QStringLiteral("monospace"));
    font.setStyleHint(QFont::Monospace);
    setFont(font);
    setLineWrapMode(QPlainTextEdit::NoWrap);
    setTabStopDistance(4 * fontMetrics().horizontalAdvance(' '));
    new JavaScriptHighlighter(document());
    connect(this, &QPlainTextEdit::blockCountChanged, this,
            [this] { setViewportMargins(lineNumberAreaWidth(), 0, 0, 0); });
    connect(this, &QPlainTextEdit::updateRequest, this, &ScriptEditor::updateLineNumberArea);
    connect(this, &QPlainTextEdit::cursorPositionChanged, this, &ScriptEditor::updateSelections);
    // Editing the marked line makes the old error stale.
    connect(this, &QPlainTextEdit::textChanged, this, [this] {
        if (errorLine_ > 0)
            markErrorLine(0);
    });
    setViewportMargins(lineNumberAreaWidth(), 0, 0, 0);
    updateSelections();
}

int ScriptEditor::lineNumberAreaWidth() const {
    int digits = 1;
    for (int max = std::max(1, blockCount()); max >= 10; max /= 10)
        ++digits;
    return 8 + fontMetrics().horizontalAdvance(QLatin1Char('9')) * std::max(2, digits);
}

void ScriptEditor::markErrorLine(int line, const QString& message) {
    errorLine_ = line;
    errorMessage_ = message;
    updateSelections();
    lineNumberArea_->update();
    if (line > 0) {
        const QTextBlock block = document()->findBlockByNumber(line - 1);
        if (block.isValid()) {
            QSignalBlocker blocker(this);  // moving the cursor is not an edit
            QTextCursor cursor(block);
            setTextCursor(cursor);
            ensureCursorVisible();
        }
    }
}

void ScriptEditor::resizeEvent(QResizeEvent* event) {
    QPlainTextEdit::resizeEvent(event);
    const QRect area = contentsRect();
    lineNumberArea_->setGeometry(
        QRect(area.left(), area.top(), lineNumberAreaWidth(), area.height()));
}

void ScriptEditor::updateLineNumberArea(const QRect& rect, int dy) {
    if (dy != 0)
        lineNumberArea_->scroll(0, dy);
    else
        lineNumberArea_->update(0, rect.y(), lineNumberArea_->width(), rect.height());
}

void ScriptEditor::updateSelections() {
    QList<QTextEdit::ExtraSelection> selections;
    QTextEdit::ExtraSelection current;
    current.format.setBackground(QColor(240, 244, 250));
    current.format.setProperty(QTextFormat::FullWidthSelection, true);
    current.cursor = textCursor();
    current.cursor.clearSelection();
    selections.append(current);
    if (errorLine_ > 0) {
        const QTextBlock block = document()->findBlockByNumber(errorLine_ - 1);
        if (block.isValid()) {
            QTextEdit::ExtraSelection error;
            error.format.setBackground(QColor(255, 220, 220));
            error.format.setProperty(QTextFormat::FullWidthSelection, true);
            error.cursor = QTextCursor(block);
            selections.append(error);
        }
    }
    setExtraSelections(selections);
}

void ScriptEditor::paintLineNumbers(QPaintEvent* event) {
    QPainter painter(lineNumberArea_);
    painter.fillRect(event->rect(), QColor(245, 245, 245));
    QTextBlock block = firstVisibleBlock();
    int number = block.blockNumber() + 1;
    int top = int(blockBoundingGeometry(block).translated(contentOffset()).top());
    while (block.isValid() && top <= event->rect().bottom()) {
        const int height = int(blockBoundingRect(block).height());
        if (block.isVisible() && top + height >= event->rect().top()) {
            const bool error = number == errorLine_;
            painter.setPen(error ? QColor(190, 0, 0) : QColor(140, 140, 140));
            QFont font = this->font();
            font.setBold(error);
            painter.setFont(font);
            painter.drawText(0, top, lineNumberArea_->width() - 4, height, Qt::AlignRight,
                             QString::number(number));
        }
        block = block.next();
        top += height;
        ++number;
    }
}

bool ScriptEditor::event(QEvent* event) {
    // The error's message as a tooltip over its line.
    if (event->type() == QEvent::ToolTip && errorLine_ > 0) {
        auto* help = static_cast<QHelpEvent*>(event);
        const QTextCursor cursor = cursorForPosition(viewport()->mapFrom(this, help->pos()));
        if (cursor.blockNumber() + 1 == errorLine_ && !errorMessage_.isEmpty()) {
            QToolTip::showText(help->globalPos(), errorMessage_, this);
            return true;
        }
    }
    return QPlainTextEdit::event(event);
}

}  // namespace sbiw::widgets
